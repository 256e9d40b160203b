"""The home page's "real model" form: architecture and weights, images, prompt, dictionary,
then Embed with progress; and the boxes that reword the normal labels.

The form only offers what the server allows: images on the server (CIFAR files, folders and
zips) only inside ``BLISS_DATA_ROOT``, uploads always, each capped before any work.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

import streamlit as st

from .. import settings
from ..core.text import DEFAULT_PROMPT, clean_labels, strip_control
from ..errors import BlissError, ModelLoadError
from ..scale.torch_backend import gpu_hint
from . import thumbnails as T
from .frame import md_escape, normal_label
from .models import CACHE_TTL, loaded_model
from .sources import Current, content_sha
from .uploads import check_uploads

log = logging.getLogger("bliss.app")

ARCHITECTURES = {
    "ViT-B-32": "ViT-B/32 (fast default)",
    "ViT-B-16": "ViT-B/16 (the paper's backbone)",
}
WEIGHTS = {
    "openai": "OpenAI weights (from the local cache)",
    "random": "UNTRAINED: random weights (plumbing check only)",
}
DATASETS = {
    "cifar10": "CIFAR-10 (torchvision files in the data folder)",
    "cifar100": "CIFAR-100 (torchvision files in the data folder)",
    "folder": "A folder of class sub-folders in the data folder",
    "zip": "A zip of class sub-folders in the data folder",
    "upload": "Upload a zip of class sub-folders",
}
SERVER_DATASETS = ("cifar10", "cifar100", "folder", "zip")
PROMPTS = {
    "template": "One template",
    "openai-imagenet": "CLIP's 80-template ImageNet ensemble",
    "simple-imagenet": "CLIP's short ImageNet ensemble",
}
DICTIONARIES = {
    "imagenet": "ImageNet-1k names + synonyms (1,860)",
    "imagenet21k": "ImageNet-21k names (36,943)",
    "upload": "Upload a text file (one entry per line)",
}


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner=False)
def _open_source(spec: str, limit: int | None, upload_sha: str | None = None, _data: bytes | None = None):
    from ..embed.sources import app_data_root, open_source, open_zip_bytes

    if upload_sha is not None:
        return open_zip_bytes(
            _data,
            name="upload.zip",
            per_class_limit=limit,
            max_images=settings.get("BLISS_MAX_UPLOAD_IMAGES"),
            max_classes=settings.get("BLISS_MAX_UPLOAD_CLASSES"),
        )
    root = app_data_root()
    if root is None:  # the form never offers this; a guard for any other caller
        raise BlissError("this server reads no images of its own (BLISS_DATA_ROOT is not set); upload a zip.")
    return open_source(spec, per_class_limit=limit, confine_to=root)


def model_controls() -> None:
    """The home page's 'real model' form: model, data, sample size, prompt, dictionary, Embed."""
    from ..embed.sources import app_data_root

    ss = st.session_state
    st.caption(
        "Runs an open_clip model on images and caches the embeddings. Weights must be in the local cache "
        "when the machine is offline; untrained (random) weights need none."
    )
    c1, c2, c3 = st.columns(3)
    arch = c1.selectbox("Architecture", list(ARCHITECTURES), format_func=ARCHITECTURES.get, key="m_arch")
    weights = c2.radio("Weights", list(WEIGHTS), format_func=WEIGHTS.get, key="m_weights")
    if weights == "random":
        st.warning(
            f"UNTRAINED {arch} with random weights: use it only to check that the plumbing works. "
            "Every page will say so.",
            icon=":material/warning:",
        )
    root = app_data_root()
    choices = [k for k in DATASETS if root is not None or k not in SERVER_DATASETS]
    ds = c3.selectbox("Images", choices, format_func=DATASETS.get, key="m_data")
    if root is None:
        c3.caption(
            "This server reads no images of its own (its operator has not set BLISS_DATA_ROOT): upload a zip."
        )
    spec = ds
    upload: tuple[str, bytes] | None = None
    if ds in ("folder", "zip"):
        path = st.text_input(
            "Path inside the server's data folder",
            key="m_path",
            placeholder="my_images" if ds == "folder" else "my_images.zip",
        )
        if not path.strip():
            st.info(
                "Enter a path inside the data folder: one sub-folder per class, optionally under train/ and test/."
            )
            return
        spec = f"{ds}:{path.strip()}"
    elif ds == "upload":
        f = st.file_uploader("Zip of class sub-folders", type=["zip"], key="m_zip")
        if f is None:
            st.info(
                f"Upload a zip with one sub-folder per class (optionally under train/ and test/); at most "
                f"{settings.get('BLISS_MAX_UPLOAD_IMAGES'):,} images and "
                f"{settings.get('BLISS_MAX_UPLOAD_CLASSES'):,} classes."
            )
            return
        pairs, msgs = check_uploads([f])
        for m in msgs:
            st.error(md_escape(m, 400), icon=":material/error:")  # upload names are data
        if not pairs:
            return
        upload = pairs[0]
    c4, c5, c6 = st.columns(3)
    default_limit = 500 if gpu_hint() else 50
    limit = c4.number_input(
        "Images per class and split (sample)",
        5,
        100_000,
        default_limit,
        step=25,
        key="m_limit",
        help="On a CPU a small sample keeps embedding short; raise it for better estimates.",
    )
    prompt_kind = c5.selectbox(
        "Prompt",
        list(PROMPTS),
        format_func=PROMPTS.get,
        key="m_prompt_kind",
        help="One template, or one of CLIP's ImageNet prompt ensembles: each text's embedding "
        "is then the mean over the templates (one text pass per template and text).",
    )
    dict_choice = c6.selectbox("Dictionary", list(DICTIONARIES), key="m_dict", format_func=DICTIONARIES.get)
    if prompt_kind == "template":
        prompt = st.text_input("Prompt template", DEFAULT_PROMPT, key="m_prompt", max_chars=200)
    else:
        prompt = prompt_kind
    if (prompt_kind != "template" or dict_choice == "imagenet21k") and not gpu_hint():
        st.caption(
            "On a CPU this means many text passes (the 36,943-entry dictionary, or 80 templates per text): "
            "minutes to an hour the first time; the embedding cache keeps them for every later run."
        )
    dictionary: str | list[str] = dict_choice
    dict_id = dict_choice
    if dict_choice == "upload":
        df = st.file_uploader("Dictionary (.txt)", type=["txt"], key="m_dict_file")
        if df is None:
            st.info("Upload the dictionary text file.")
            return
        if df.size > 5 * 1024**2:
            st.error("The dictionary file is larger than 5 MB.")
            return
        from ..embed.dictionary import entries_from_text

        try:
            dictionary = entries_from_text(df.getvalue(), "the uploaded dictionary")
        except BlissError as exc:
            st.error(md_escape(str(exc), 400))
            return
        dict_id = "upload:" + content_sha(df.getvalue())
    preprocess = st.radio(
        "Image preprocessing",
        ["model", "paper"],
        horizontal=True,
        key="m_pre",
        format_func={
            "model": "the model's own (default)",
            "paper": "published script's CIFAR-10 normalisation",
        }.get,
    )
    prompt = strip_control(prompt)
    if prompt_kind == "template" and "{}" not in prompt:
        st.error("The prompt template needs a {} where the class name goes.")
        return
    cfg = {
        "model": arch,
        "pretrained": weights,
        "spec": spec,
        "limit": int(limit),
        "prompt": prompt,
        "dictionary": dict_id,
        "preprocess": preprocess,
        "upload": content_sha(upload[1]) if upload else None,
    }
    key = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]
    have = ss.get("model_bundle") is not None and ss.get("source", {}).get("key") == key
    if have:
        st.success("Embedded: " + md_escape(ss["model_bundle"].describe(), 400))
        if ss.get("embed_note"):
            st.warning(md_escape(ss["embed_note"], 400))  # it names a skipped file
        ss["source"] = {"kind": "model", "key": key}
        return
    if ss.get("model_bundle") is not None:
        st.caption(
            "The settings changed since the last embedding; press Embed to run again. "
            "Until then the previous embeddings are shown."
        )
        ss["source"] = {"kind": "model", "key": ss.get("model_key_done")}
    else:
        ss["source"] = {"kind": "simulation"}
        st.caption("Until you embed, the other pages show the simulation.")
    if st.button("Embed", type="primary", key="m_embed"):
        run_embedding(cfg, key, upload, dictionary)


def run_embedding(
    cfg: dict[str, Any], key: str, upload: tuple[str, bytes] | None, dictionary: str | list[str]
) -> None:
    """Embed with a progress bar and ETA; errors become one friendly message."""
    ss = st.session_state
    bar = st.progress(0.0, text="Loading the model…")
    start = time.perf_counter()

    def progress(ev: Any) -> None:
        frac = min(max(ev.done / ev.total, 0.0), 1.0) if ev.total else 0.0
        text = f"{ev.stage}: {ev.done:,}/{ev.total:,}" + (
            f" · about {ev.eta_s:.0f} s left" if ev.eta_s is not None else ""
        )
        if ev.cached:
            text += f" · {ev.cached:,} from cache"
        bar.progress(frac, text=text)

    try:
        from ..embed.pipeline import embed_dataset

        loaded = loaded_model(cfg["model"], cfg["pretrained"], "auto", cfg["preprocess"])
        bar.progress(0.0, text="Opening the images…")
        if upload is not None:
            source = _open_source("upload", cfg["limit"], content_sha(upload[1]), upload[1])
        else:
            source = _open_source(cfg["spec"], cfg["limit"])
        bundle, report = embed_dataset(
            data=source,
            model=cfg["model"],
            pretrained=cfg["pretrained"],
            dictionary=dictionary,
            prompt=cfg["prompt"],
            per_class_limit=cfg["limit"],
            preprocess=cfg["preprocess"],
            progress=progress,
            loaded=loaded,
        )
    except ModelLoadError as exc:
        log.info("model load failed: %s", exc)
        st.error(
            f"The {cfg['model']} weights could not be loaded: {md_escape(str(exc), 400)} To try the app without them, choose "
            "**UNTRAINED: random weights** under *Weights* above (a plumbing check: the numbers then mean "
            "nothing about CLIP), or use the simulation or a bundle file.",
            icon=":material/error:",
        )
        bar.empty()
        return
    except BlissError as exc:  # DataError, DictionaryError, EmbedError, CacheError: one sentence each
        log.info("embedding failed: %s", exc)
        st.error("Embedding failed: " + md_escape(str(exc), 400))
        bar.empty()
        return
    bar.progress(1.0, text=f"Done in {time.perf_counter() - start:.0f} s.")
    ss["model_bundle"] = bundle
    ss["model_key_done"] = key
    ss["model_cfg"] = cfg
    ss["source"] = {"kind": "model", "key": key}
    ss["model_thumb_reader"] = T.reader_for(source)
    if report.skipped:
        name, why = report.skipped[0]
        ss["embed_note"] = f"{len(report.skipped)} file(s) were skipped, e.g. {name}: {why}"
    else:
        ss.pop("embed_note", None)
    st.rerun()


def _set_label_text(name: str, widget_key: str) -> None:
    """on_change of a wording box: keep the cleaned words (or drop them when back to the name)."""
    ss = st.session_state
    words, msgs = clean_labels([ss.get(widget_key, "")])
    wording = dict(ss.get("label_text") or {})
    if words and words[0] != name:
        wording[name] = words[0]
    else:
        wording.pop(name, None)
    ss["label_text"] = wording
    ss["label_text_msgs"] = [m.replace("Label 1", f"The label for '{name}'") for m in msgs]


def label_wording_controls(cur: Current, normal: list[int], max_boxes: int = 24) -> None:
    """Home page: one text box per normal class to change the words its label embedding encodes."""
    b = cur.bundle
    ss = st.session_state
    st.caption(
        "Free-text labels: change the words the model reads for a normal class (its reference images "
        "stay the class's images). Each change is re-encoded by the model's text encoder and used on "
        "every page."
    )
    wording = ss.get("label_text") or {}
    cols = st.columns(3)
    for i, c in enumerate(normal[:max_boxes]):
        name = b.class_names[c]
        key = f"label_text::{name}"
        cols[i % 3].text_input(
            f"Label for class “{md_escape(name, 60)}”",
            value=wording.get(name, name),
            key=key,
            max_chars=400,
            on_change=_set_label_text,
            args=(name, key),
        )
    if len(normal) > max_boxes:
        st.caption(f"Only the first {max_boxes} normal classes can be reworded here.")
    for m in ss.get("label_text_msgs") or []:
        st.warning(md_escape(m))
    changed = [c for c in normal if b.class_names[c] in (b.meta.get("label_text") or {})]
    if changed:
        st.success("Encoded as: " + "; ".join(normal_label(b, c) for c in changed))
