"""The model behind a session's embeddings: loading it once per process, its text encoder
(reworded normal labels, the what-if page) and embedding uploaded images.

Everything that imports torch is imported inside functions, only when a session uses a model.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import streamlit as st

from .. import settings
from ..core.bundle import Bundle
from ..core.text import DEFAULT_PROMPT
from ..errors import BlissError
from . import thumbnails as T
from .escape import md_escape

log = logging.getLogger("bliss.app")
CACHE_TTL = settings.get("BLISS_CACHE_TTL_S")


@st.cache_resource(max_entries=1, ttl=CACHE_TTL, show_spinner=False)
def loaded_model(name: str, pretrained: str, device: str = "auto", preprocess: str = "model"):
    from ..embed.models import load_model

    return load_model(name, pretrained, device=device, preprocess=preprocess)


def session_model():
    """The loaded model that made the session's bundle, or None (bundles and the simulation)."""
    ss = st.session_state
    if (ss.get("source") or {}).get("kind") != "model":
        return None
    cfg = ss.get("model_cfg") or {}
    if not cfg:
        return None
    return loaded_model(cfg["model"], cfg["pretrained"], "auto", cfg.get("preprocess", "model"))


@st.cache_data(max_entries=64, ttl=CACHE_TTL, show_spinner=False)
def _encode_labels(model_id: str, labels: tuple[str, ...], prompt: str, _loaded: Any) -> np.ndarray:
    from ..embed.models import encode_texts

    return encode_texts(_loaded, list(labels), template=prompt)


def text_encoder() -> Callable[[list[str], str], np.ndarray] | None:
    """A function (labels, prompt) -> unit embeddings, when the session's source has a text encoder."""
    try:
        loaded = session_model()
    except BlissError as exc:
        st.warning(
            f"The text encoder is not available ({md_escape(str(exc), 400)}); compare subsets of classes instead."
        )
        return None
    if loaded is None:
        return None
    model_id = json.dumps(loaded.cache_identity(), sort_keys=True, default=str)
    return lambda labels, prompt: _encode_labels(model_id, tuple(labels), prompt, loaded)


def reworded(bundle: Bundle, key: str, wording: Mapping[str, str]) -> tuple[Bundle, str]:
    """The bundle with the user's words for some classes, encoded by the session's text encoder,
    and a cache key that names the wording (so every cache downstream recomputes for it).

    ``wording`` maps class name to the new label text; names the bundle lacks are ignored.
    Without a text encoder, or with nothing reworded, the bundle comes back unchanged.
    """
    from ..core.whatif import reworded_bundle

    index = {n: i for i, n in enumerate(bundle.class_names)}
    todo = {index[n]: w for n, w in wording.items() if n in index and w and w != n}
    if not todo:
        return bundle, key
    tag = hashlib.sha256(json.dumps(sorted(todo.items())).encode()).hexdigest()[:12]
    new_key = f"{key}:labels:{tag}"
    # The sidebar and the page both ask for the current bundle on every rerun: encode once.
    done = st.session_state.get("_reworded")
    if done is not None and done[1] == new_key:
        return done
    encode = text_encoder()
    if encode is None:
        return bundle, key
    classes = sorted(todo)
    emb = encode([todo[c] for c in classes], str(bundle.meta.get("prompt", DEFAULT_PROMPT)))
    result = (reworded_bundle(bundle, dict(zip(classes, emb)), {c: todo[c] for c in classes}), new_key)
    st.session_state["_reworded"] = result
    return result


NO_MODEL = (
    "Uploaded images need a model to embed them. These sources (simulation, bundle file) hold only "
    "precomputed embeddings: choose a real or untrained model on the home page, or take images from the dataset."
)


def embed_uploaded(images: list[tuple[str, Any]]) -> tuple[np.ndarray | None, str]:
    """Embed decoded PIL images with the session's model; (None, reason) without one."""
    loaded = session_model()
    if loaded is None:
        return None, NO_MODEL
    try:
        from ..embed.pipeline import embed_images

        emb = embed_images(loaded, [im for _, im in images])
    except BlissError as exc:
        log.info("embedding uploads failed: %s", exc)
        return None, f"The images could not be embedded: {exc}"
    for name, im in images:
        T.register({name: T.thumbnail(im)})
    return emb, ""
