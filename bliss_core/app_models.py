"""The app's real-model side: the home page's model form, embedding with progress, text
encoding (reworded normal labels, the what-if page), and embedding uploaded images.

Everything that imports torch (``bliss_core.models``, ``bliss_core.pipeline``) is imported
inside functions, only when the user picks a model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from typing import Any, Callable, Mapping

import numpy as np
import streamlit as st

from . import app_state as S

log = logging.getLogger("bliss.app")

MODELS = {
    "ViT-B-32/openai": ("ViT-B-32", "openai", "ViT-B/32, OpenAI weights (fast default)"),
    "ViT-B-16/openai": ("ViT-B-16", "openai", "ViT-B/16, OpenAI weights (as in the paper)"),
    "untrained": (os.environ.get("BLISS_UNTRAINED_MODEL", "ViT-S-32"), "random",
                  "UNTRAINED model with random weights (plumbing check only)"),
}
DATASETS = {
    "cifar10": "CIFAR-10 (torchvision files in the data root)",
    "cifar100": "CIFAR-100 (torchvision files in the data root)",
    "folder": "A folder of class sub-folders on this server",
    "zip": "A zip of class sub-folders on this server",
    "upload": "Upload a zip of class sub-folders",
}


def _has_gpu_hint() -> bool:
    """A cheap guess (no torch import) whether a CUDA GPU is present."""
    return shutil.which("nvidia-smi") is not None or os.path.exists("/dev/nvidia0")


@st.cache_resource(max_entries=1, ttl=S.CACHE_TTL, show_spinner=False)
def loaded_model(name: str, pretrained: str, device: str = "auto", preprocess: str = "model"):
    from .models import load_model

    return load_model(name, pretrained, device=device, preprocess=preprocess)


@st.cache_resource(max_entries=2, ttl=S.CACHE_TTL, show_spinner=False)
def _open_source(spec: str, limit: int | None, upload_sha: str | None = None, _data: bytes | None = None):
    from . import data as D

    if upload_sha is not None:
        return D.open_zip_bytes(_data, name="upload.zip", per_class_limit=limit)
    return D.open_source(spec, per_class_limit=limit)


def model_controls() -> None:
    """The home page's 'real model' form: model, data, sample size, prompt, dictionary, Embed."""
    ss = st.session_state
    st.caption("Runs an open_clip model on images and caches the embeddings. Weights must be in the local cache "
               "when the machine is offline; the untrained option needs no weights.")
    c1, c2 = st.columns(2)
    model_key = c1.selectbox("Model", list(MODELS), format_func=lambda k: MODELS[k][2], key="m_model")
    if model_key == "untrained":
        st.warning("An UNTRAINED model has random weights: use it only to check that the plumbing works. "
                   "Every page will say so.", icon=":material/warning:")
    from .data import paths_allowed

    # On a shared server (BLISS_ALLOW_SERVER_PATHS=0) nobody may point the app at server paths.
    choices = [k for k in DATASETS if paths_allowed(None) or k not in ("folder", "zip")]
    ds = c2.selectbox("Images", choices, format_func=DATASETS.get, key="m_data")
    if len(choices) < len(DATASETS):
        c2.caption("Reading folders and zips on the server is turned off here: upload a zip instead.")
    spec = ds
    upload: tuple[str, bytes] | None = None
    if ds in ("folder", "zip"):
        if not paths_allowed(None):
            st.error("Server paths are disabled here (BLISS_ALLOW_SERVER_PATHS=0); upload a zip instead.")
            return
        path = st.text_input("Path on the server", key="m_path",
                             placeholder="/data/my_images" if ds == "folder" else "/data/my_images.zip")
        if not path.strip():
            st.info("Enter a path: one sub-folder per class, optionally under train/ and test/.")
            return
        spec = f"{ds}:{path.strip()}"
    elif ds == "upload":
        f = st.file_uploader("Zip of class sub-folders", type=["zip"], key="m_zip")
        if f is None:
            st.info("Upload a zip with one sub-folder per class (optionally under train/ and test/).")
            return
        pairs, msgs = S.check_uploads([f])
        for m in msgs:
            st.error(m)
        if not pairs:
            return
        upload = pairs[0]
    c3, c4, c5 = st.columns(3)
    default_limit = 500 if _has_gpu_hint() else 50
    limit = c3.number_input("Images per class and split (sample)", 5, 100_000, default_limit, step=25, key="m_limit",
                            help="On a CPU a small sample keeps embedding short; raise it for better estimates.")
    prompt = c4.text_input("Prompt template", "This is a photo of a {}", key="m_prompt", max_chars=200)
    dict_choice = c5.selectbox("Dictionary", ["imagenet", "upload"], key="m_dict",
                               format_func={"imagenet": "ImageNet-1k names + synonyms", "upload": "Upload a text file (one entry per line)"}.get)
    dictionary: str = "imagenet"
    if dict_choice == "upload":
        df = st.file_uploader("Dictionary (.txt)", type=["txt"], key="m_dict_file")
        if df is None:
            st.info("Upload the dictionary text file.")
            return
        if df.size > 5 * 1024**2:
            st.error(f"{df.name}: dictionary files are limited to 5 MB.")
            return
        import tempfile

        tmp = os.path.join(tempfile.gettempdir(), f"bliss_dict_{S.content_sha(df.getvalue())}.txt")
        with open(tmp, "wb") as fh:
            fh.write(df.getvalue())
        dictionary = tmp
    preprocess = st.radio("Image preprocessing", ["model", "paper"], horizontal=True, key="m_pre",
                          format_func={"model": "the model's own (default)", "paper": "published script's CIFAR-10 normalisation"}.get)
    from .whatif import strip_control

    prompt = strip_control(prompt)
    if "{}" not in prompt:
        st.error("The prompt template needs a {} where the class name goes.")
        return
    name, pretrained, _ = MODELS[model_key]
    cfg = {"model": name, "pretrained": pretrained, "spec": spec, "limit": int(limit), "prompt": prompt,
           "dictionary": dictionary, "preprocess": preprocess,
           "upload": S.content_sha(upload[1]) if upload else None}
    key = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]
    have = ss.get("model_bundle") is not None and ss.get("source", {}).get("key") == key
    if have:
        st.success(f"Embedded: {ss['model_bundle'].describe()}")
        if ss.get("embed_note"):
            st.warning(ss["embed_note"])
        ss["source"] = {"kind": "model", "key": key}
        return
    if ss.get("model_bundle") is not None:
        st.caption("The settings changed since the last embedding; press Embed to run again. "
                   "Until then the previous embeddings are shown.")
        ss["source"] = {"kind": "model", "key": ss.get("model_key_done")}
    else:
        ss["source"] = {"kind": "simulation"}
        st.caption("Until you embed, the other pages show the simulation.")
    if st.button("Embed", type="primary", key="m_embed"):
        run_embedding(cfg, key, upload)


def run_embedding(cfg: dict[str, Any], key: str, upload: tuple[str, bytes] | None) -> None:
    """Embed with a progress bar and ETA; errors become one friendly message."""
    ss = st.session_state
    bar = st.progress(0.0, text="Loading the model…")
    start = time.perf_counter()

    def progress(ev: Any) -> None:
        total = getattr(ev, "total", 0) or 0
        done = getattr(ev, "done", 0) or 0
        stage = getattr(ev, "stage", "embedding")
        frac = min(max(done / total, 0.0), 1.0) if total else 0.0
        eta = getattr(ev, "eta_s", None)
        text = f"{stage}: {done:,}/{total:,}" + (f" · about {eta:.0f} s left" if eta is not None else "")
        if getattr(ev, "cached", 0):
            text += f" · {ev.cached:,} from cache"
        bar.progress(frac, text=text)

    try:
        from .pipeline import embed_dataset

        loaded = loaded_model(cfg["model"], cfg["pretrained"], "auto", cfg["preprocess"])
        bar.progress(0.0, text="Opening the images…")
        if upload is not None:
            source = _open_source("upload", cfg["limit"], S.content_sha(upload[1]), upload[1])
        else:
            source = _open_source(cfg["spec"], cfg["limit"])
        bundle, report = embed_dataset(
            data=source, model=cfg["model"], pretrained=cfg["pretrained"], dictionary=cfg["dictionary"],
            prompt=cfg["prompt"], per_class_limit=cfg["limit"], preprocess=cfg["preprocess"],
            progress=progress, loaded=loaded,
        )
    except Exception as exc:  # ModelLoadError, DataError, DictionaryError, EmbedError: one sentence each
        log.warning("embedding failed: %s", exc, exc_info=True)
        msg = str(exc).strip() or type(exc).__name__
        if type(exc).__name__ == "ModelLoadError":
            st.error(f"The model could not be loaded: {msg} To use it offline, download the weights once on a "
                     "machine with internet (e.g. run `bliss embed --model ViT-B-32 ...` there) and copy the "
                     "Hugging Face / open_clip cache to this machine — or use the simulation or a bundle file.")
        else:
            st.error(f"Embedding failed: {msg}")
        bar.empty()
        return
    bar.progress(1.0, text=f"Done in {time.perf_counter() - start:.0f} s.")
    ss["model_bundle"] = bundle
    ss["model_key_done"] = key
    ss["model_cfg"] = cfg
    ss["source"] = {"kind": "model", "key": key}
    ss["model_thumb_reader"] = S.thumb_reader(source)
    skipped = list(getattr(report, "skipped", []) or [])
    if skipped:
        name, why = skipped[0]
        ss["embed_note"] = f"{len(skipped)} file(s) were skipped, e.g. {name}: {why}"
    else:
        ss.pop("embed_note", None)
    st.rerun()


def _model_for(cur: S.Current):
    """The loaded model that made the current bundle, or None (bundles and simulation)."""
    if cur.kind != "model":
        return None
    cfg = st.session_state.get("model_cfg") or {}
    if not cfg:
        return None
    return loaded_model(cfg["model"], cfg["pretrained"], "auto", cfg.get("preprocess", "model"))


@st.cache_data(max_entries=64, ttl=S.CACHE_TTL, show_spinner=False)
def _encode_labels(model_id: str, labels: tuple[str, ...], prompt: str, _loaded) -> np.ndarray:
    from .models import encode_texts

    return encode_texts(_loaded, list(labels), template=prompt)


def text_encoder(cur: S.Current) -> Callable[[list[str], str], np.ndarray] | None:
    """A function (labels, prompt) -> unit embeddings, when the source has a text encoder."""
    if cur.kind != "model":
        return None
    try:
        loaded = _model_for(cur)
    except Exception as exc:
        st.warning(f"The text encoder is not available ({exc}); compare subsets of classes instead.")
        return None
    if loaded is None:
        return None
    model_id = json.dumps(loaded.cache_identity(), sort_keys=True, default=str)
    return lambda labels, prompt: _encode_labels(model_id, tuple(labels), prompt, loaded)


def embed_uploaded(cur: S.Current, images: list[tuple[str, Any]]) -> tuple[np.ndarray | None, str]:
    """Embed decoded PIL images with the current model; (None, reason) without one."""
    if cur.kind != "model":
        return None, ("Uploaded images need a model to embed them. These sources (simulation, bundle file) "
                      "hold only precomputed embeddings: choose a real or untrained model on the home page, "
                      "or take images from the dataset.")
    try:
        loaded = _model_for(cur)
        from .pipeline import embed_images

        emb = embed_images(loaded, [im for _, im in images])
    except Exception as exc:
        log.warning("embedding uploads failed", exc_info=True)
        return None, f"The images could not be embedded: {exc}"
    for (name, im) in images:
        S.register_images({name: S.thumbnail(im)})
    return emb, ""


def apply_label_text(cur: S.Current, wording: Mapping[str, str]) -> S.Current:
    """The current source with the user's words for some classes, encoded by its text encoder.

    ``wording`` maps class name to the new label text; names the bundle lacks are ignored. The
    returned key names the wording, so every cache downstream (scorers, grids, projections)
    recomputes for it. Without a text encoder the source is returned unchanged.
    """
    from .whatif import reworded_bundle

    b = cur.bundle
    index = {n: i for i, n in enumerate(b.class_names)}
    todo = {index[n]: w for n, w in wording.items() if n in index and w and w != n}
    if not todo:
        return cur
    tag = hashlib.sha256(json.dumps(sorted(todo.items())).encode()).hexdigest()[:12]
    key = f"{cur.key}:labels:{tag}"
    # current() runs for the sidebar and again for the page on every rerun: encode and copy once.
    done = st.session_state.get("_reworded")
    if done is not None and done.key == key:
        return done
    encode = text_encoder(cur)
    if encode is None:
        return cur
    classes = sorted(todo)
    emb = encode([todo[c] for c in classes], str(b.meta.get("prompt", "This is a photo of a {}")))
    reworded = S.Current(reworded_bundle(b, dict(zip(classes, emb)), {c: todo[c] for c in classes}),
                         key, cur.kind, cur.label)
    st.session_state["_reworded"] = reworded
    return reworded


def _set_label_text(name: str, widget_key: str) -> None:
    """on_change of a wording box: keep the cleaned words (or drop them when back to the name)."""
    from .whatif import clean_labels

    ss = st.session_state
    words, msgs = clean_labels([ss.get(widget_key, "")])
    wording = dict(ss.get("label_text") or {})
    if words and words[0] != name:
        wording[name] = words[0]
    else:
        wording.pop(name, None)
    ss["label_text"] = wording
    ss["label_text_msgs"] = [m.replace("Label 1", f"The label for '{name}'") for m in msgs]


def label_wording_controls(cur: S.Current, normal: list[int], max_boxes: int = 24) -> None:
    """Home page: one text box per normal class to change the words its label embedding encodes."""
    b = cur.bundle
    ss = st.session_state
    st.caption("Free-text labels: change the words the model reads for a normal class (its reference images "
               "stay the class's images). Each change is re-encoded by the model's text encoder and used on "
               "every page.")
    wording = ss.get("label_text") or {}
    cols = st.columns(3)
    for i, c in enumerate(normal[:max_boxes]):
        name = b.class_names[c]
        key = f"label_text::{name}"
        cols[i % 3].text_input(f"Label for class “{name}”", value=wording.get(name, name), key=key, max_chars=400,
                               on_change=_set_label_text, args=(name, key))
    if len(normal) > max_boxes:
        st.caption(f"Only the first {max_boxes} normal classes can be reworded here.")
    for m in ss.get("label_text_msgs") or []:
        st.warning(S.md_escape(m))
    changed = [c for c in normal if b.class_names[c] in (b.meta.get("label_text") or {})]
    if changed:
        st.success("Encoded as: " + "; ".join(S.normal_label(b, c) for c in changed))
