"""Session state, data sources and caches of the Streamlit app (the one place for them).

Pages import this module; it imports Streamlit. The slider path of the BLISS page lives in
:func:`scoring_payload` (pure, no Streamlit) so that :func:`slider_update_timing` can time
exactly what the page does on a lambda/K move.

Nothing here imports torch: the embedding modules are imported lazily, only when the user
chooses a real (or untrained) model.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from .bundle import Bundle, BundleError, load_bundle
from .live import LiveScoring

log = logging.getLogger("bliss.app")

# -- limits (env-configurable) -------------------------------------------------------------
MAX_UPLOAD_MB = float(os.environ.get("BLISS_MAX_UPLOAD_MB", 200))
MAX_UPLOAD_FILES = int(os.environ.get("BLISS_MAX_UPLOAD_FILES", 64))
MAX_TOPK = 50
CACHE_TTL = int(os.environ.get("BLISS_CACHE_TTL_S", 3600))
IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]

DEFAULT_SIM = {"text_bias": 1.0, "modality_gap": 2.0, "class_signal": 0.6, "noise": 1.0, "seed": 0,
               "test_per_class": 100}
SIM_LIMITS = {"text_bias": (0.0, 3.0), "modality_gap": (0.0, 4.0), "class_signal": (0.1, 2.0),
              "noise": (0.2, 3.0), "seed": (0, 10_000), "test_per_class": (20, 1000)}
LAMBDA_MAX = 3.0
PERSIST_KEYS = ("lam", "topk", "proj_method", "color_by", "sample_size", "perplexity", "n_neighbors",
                "min_dist", "tpr", "normal_sel", "prompt", "sim_text_bias", "sim_modality_gap",
                "sim_class_signal", "sim_noise", "sim_seed", "sim_test_per_class")


class AppError(Exception):
    """A problem to show the user as a friendly message (no traceback)."""


# ------------------------------------------------------------------------------------------
# session initialisation and query params
# ------------------------------------------------------------------------------------------
def _qp_float(qp, key, default, lo, hi):
    try:
        v = float(qp.get(key, default))
        return float(min(max(v, lo), hi)) if np.isfinite(v) else default
    except (TypeError, ValueError):
        return default


def init_session() -> None:
    """Set defaults once per session, from the URL query params where given (validated)."""
    ss = st.session_state
    if ss.get("_bliss_init"):
        for k in PERSIST_KEYS:  # keep widget values alive across pages
            if k in ss:
                ss[k] = ss[k]
        return
    qp = st.query_params
    env_bundle = os.environ.get("BLISS_BUNDLE", "").strip()
    ss["source"] = {"kind": "bundle_file", "path": env_bundle} if env_bundle else {"kind": "simulation"}
    if qp.get("src") == "sim":
        ss["source"] = {"kind": "simulation"}
    for k, (lo, hi) in SIM_LIMITS.items():
        v = _qp_float(qp, "sim_" + k, DEFAULT_SIM[k], lo, hi)
        ss["sim_" + k] = int(v) if k in ("seed", "test_per_class") else v
    ss["lam"] = _qp_float(qp, "lam", 0.5, 0.0, LAMBDA_MAX)
    ss["topk"] = int(_qp_float(qp, "k", 10, 1, MAX_TOPK))
    ss["tpr"] = _qp_float(qp, "tpr", 0.95, 0.5, 0.99)
    ss["proj_method"] = qp.get("proj", "pca") if qp.get("proj") in ("pca", "tsne", "umap") else "pca"
    ss["color_by"] = "class" if qp.get("color") == "class" else "modality"
    ss["sample_size"] = int(_qp_float(qp, "n", 1000, 100, 5000))
    ss["perplexity"] = 30
    ss["n_neighbors"] = 15
    ss["min_dist"] = 0.1
    normal_qp = qp.get("normal", "")
    try:
        ss["normal_qp"] = [int(x) for x in normal_qp.split(",") if x.strip() != ""][:200]
    except ValueError:
        ss["normal_qp"] = []
    ss["prompt"] = "This is a photo of a {}"
    ss["_bliss_init"] = True


def page_setup() -> None:
    """Called at the top of every page file. ``app.py`` is the frame of all pages (page config,
    session defaults, navigation via ``st.navigation``). A deep link as the very first request
    after the server starts is run by Streamlit's legacy ``pages/`` mode, without that frame;
    switch to ``st.navigation`` mode and rerun so the page gets its frame."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a future Streamlit
        PagesManager = None
    if PagesManager is not None and PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
    if not st.session_state.get("_bliss_init"):
        st.set_page_config(page_title="bliss-lab", layout="wide")
        init_session()


def sync_query_params(**extra: Any) -> None:
    """Write the current settings to the URL so the view can be shared."""
    ss = st.session_state
    params: dict[str, str] = {}
    if ss.get("source", {}).get("kind") == "simulation":
        params["src"] = "sim"
        for k in SIM_LIMITS:
            v = ss.get("sim_" + k, DEFAULT_SIM[k])
            if v != DEFAULT_SIM[k]:
                params["sim_" + k] = f"{v:g}"
    if ss.get("normal") is not None:
        params["normal"] = ",".join(str(c) for c in ss["normal"])
    params["lam"] = f"{ss.get('lam', 0.5):g}"
    params["k"] = str(int(ss.get("topk", 10)))
    for k, v in extra.items():
        params[k] = str(v)
    try:
        current = {k: st.query_params.get(k) for k in params}
        if current != params:
            st.query_params.update(params)
    except Exception:  # query params are a convenience; never fail a page over them
        log.debug("could not update query params", exc_info=True)


# ------------------------------------------------------------------------------------------
# data sources -> bundle
# ------------------------------------------------------------------------------------------
def sim_params() -> dict[str, Any]:
    ss = st.session_state
    return {k: ss.get("sim_" + k, DEFAULT_SIM[k]) for k in DEFAULT_SIM}


@st.cache_resource(max_entries=6, ttl=CACHE_TTL, show_spinner=False)
def _sim_bundle(params_json: str) -> Bundle:
    from .simulate import make_simulated_bundle

    p = json.loads(params_json)
    return make_simulated_bundle(
        text_bias=float(p["text_bias"]), modality_gap=float(p["modality_gap"]),
        class_signal=float(p["class_signal"]), noise=float(p["noise"]), seed=int(p["seed"]),
        test_per_class=int(p["test_per_class"]),
    )


@st.cache_resource(max_entries=3, ttl=CACHE_TTL, show_spinner=False)
def _file_bundle(path: str, mtime: float, size: int) -> Bundle:
    return load_bundle(path)


def load_bundle_upload(name: str, data: bytes) -> Bundle:
    """Validate and load an uploaded ``.npz`` bundle (size checked); raises AppError."""
    if not name.lower().endswith(".npz"):
        raise AppError(f"{name}: a bundle must be an .npz file written by `bliss embed`.")
    if len(data) > MAX_UPLOAD_MB * 1024**2:
        raise AppError(f"{name}: {len(data) / 1024**2:.0f} MB is above the {MAX_UPLOAD_MB:.0f} MB upload limit.")
    if not data:
        raise AppError(f"{name}: the file is empty.")
    import tempfile
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise AppError(f"{name}: not an .npz bundle (not a valid zip archive).") from None
    from .bundle import MAX_BUNDLE_BYTES

    if total > MAX_BUNDLE_BYTES:
        raise AppError(f"{name}: its arrays would take {total / 1024**3:.1f} GiB, above the limit.")
    fd, tmp = tempfile.mkstemp(suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        b = load_bundle(tmp)
    except BundleError as exc:
        raise AppError(str(exc).replace(tmp, name)) from None
    finally:
        os.unlink(tmp)
    return b


@dataclass
class Current:
    bundle: Bundle
    key: str  # identifies the bundle content for caches
    kind: str  # simulation | bundle_file | bundle_upload | model
    label: str  # short human description


def current() -> Current:
    """The session's bundle. Raises :class:`AppError` with a friendly message on failure."""
    ss = st.session_state
    src = ss.get("source") or {"kind": "simulation"}
    kind = src.get("kind", "simulation")
    if kind == "bundle_file":
        path = src.get("path", "")
        try:
            stt = os.stat(path)
        except OSError:
            raise AppError(f"BLISS_BUNDLE={path}: no such file. Fix the path or choose another data source on the home page.")
        try:
            b = _file_bundle(path, stt.st_mtime, stt.st_size)
        except BundleError as exc:
            raise AppError(str(exc))
        _use_thumb_reader(_bundle_images(str(b.meta.get("dataset", ""))))
        return Current(b, f"file:{path}:{stt.st_mtime}:{stt.st_size}", kind, f"bundle file {os.path.basename(path)}")
    if kind == "bundle_upload":
        b = ss.get("uploaded_bundle")
        if b is None:
            raise AppError("no bundle uploaded yet; upload one on the home page.")
        _use_thumb_reader(None)  # its paths name another machine's files, or anyone's on this one
        return Current(b, f"upload:{src.get('sha')}", kind, f"uploaded bundle {src.get('name', '')}")
    if kind == "model":
        b = ss.get("model_bundle")
        if b is None:
            raise AppError("no embeddings yet: on the home page, press 'Embed' to run the model on the data.")
        _use_thumb_reader(ss.get("model_thumb_reader"))
        cur = Current(b, f"model:{src.get('key')}", kind, b.describe())
        if ss.get("label_text"):  # the user's wording for some classes, re-encoded by the model
            from .app_models import apply_label_text

            cur = apply_label_text(cur, ss["label_text"])
        return cur
    _use_thumb_reader(None)  # uploaded bundles and the simulation have no pictures
    p = sim_params()
    pj = json.dumps(p, sort_keys=True)
    return Current(_sim_bundle(pj), "sim:" + pj, "simulation", "simulation")


def normal_classes(cur: Current) -> list[int]:
    """The session's normal classes for the current bundle (validated; default: class 0)."""
    ss = st.session_state
    n = len(cur.bundle.class_names)
    if ss.get("normal_for") != cur.key:
        wanted = ss.pop("normal_qp", None) or ss.get("normal") or [0]
        wanted = sorted({int(c) for c in wanted if 0 <= int(c) < n}) or [0]
        ss["normal"] = wanted
        ss["normal_for"] = cur.key
        ss["normal_sel"] = [cur.bundle.class_names[c] for c in wanted]
    return list(ss["normal"])


def set_normal(cur: Current, names: Sequence[str]) -> list[int]:
    idx = {n: i for i, n in enumerate(cur.bundle.class_names)}
    normal = sorted({idx[n] for n in names if n in idx})
    st.session_state["normal"] = normal
    st.session_state["normal_for"] = cur.key
    return normal


# ------------------------------------------------------------------------------------------
# cached computations
# ------------------------------------------------------------------------------------------
@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def live_scoring(key: str, normal: tuple[int, ...], _bundle: Bundle, max_topk: int = MAX_TOPK) -> LiveScoring:
    return LiveScoring(_bundle, list(normal), max_topk=max_topk)


def heatmap_axes(max_topk: int) -> tuple[list[float], list[int]]:
    lams = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]
    topks = [k for k in (1, 2, 5, 10, 20, 30, 50) if k <= max_topk]
    return lams, topks


@st.cache_data(max_entries=8, ttl=CACHE_TTL, show_spinner=False)
def auroc_grid(key: str, normal: tuple[int, ...], _live: LiveScoring) -> tuple[list[float], list[int], np.ndarray]:
    lams, topks = heatmap_axes(_live.max_topk)
    return lams, topks, _live.auroc_grid(lams, topks)


@st.cache_data(max_entries=12, ttl=CACHE_TTL, show_spinner=False)
def projection(key: str, normal: tuple[int, ...], method: str, sample_size: int, params_json: str,
               _points: np.ndarray) -> np.ndarray:
    from .projection import project

    return project(_points, method=method, seed=0, **json.loads(params_json))


# ------------------------------------------------------------------------------------------
# the BLISS page's slider path (pure; timed by slider_update_timing)
# ------------------------------------------------------------------------------------------
def scoring_payload(live: LiveScoring, lam: float, topk: int, tpr: float = 0.95, gallery_n: int = 12,
                    with_figures: bool = True, grid: tuple | None = None) -> dict[str, Any]:
    """Everything the BLISS page's fragment shows for one (lambda, K): metrics table rows,
    ROC and score-histogram figures, the false-positive / false-negative galleries and, given
    ``grid`` = (lams, topks, aurocs), the heat map with the current cell marked."""
    from . import figures as F

    view = live.view(lam, topk, tpr=tpr)
    b = live.bundle
    rows = []
    for method in ("bliss", "internal", "maxsim", "knn"):
        if method in view.metrics:
            m = view.metrics[method]
            rows.append({"method": F.METHOD_NAMES.get(method, method), "AUROC": m["auroc"], "AUPR": m["aupr"],
                         "FPR@95%TPR": m["fpr95"]})

    def gallery(pos: np.ndarray) -> list[dict[str, Any]]:
        out = []
        for p in pos[:gallery_n]:
            g = int(live.test_idx[p])
            out.append({
                "global_id": g,
                "id": b.image_id[g] if b.image_id else f"image {g}",
                "class": b.class_names[int(b.image_label[g])],
                "score": float(view.scores[p]),
                "avg dict sim": float(live.avg_dict_sim[p]),
            })
        return out

    n_norm = int((~live.is_anomaly).sum())
    n_anom = int(live.is_anomaly.sum())
    payload: dict[str, Any] = {
        "view": view,
        "rows": rows,
        "fp": gallery(view.false_positives),
        "fn": gallery(view.false_negatives),
        "n_fp": int(len(view.false_positives)),
        "n_fn": int(len(view.false_negatives)),
        "fpr_at_op": len(view.false_positives) / max(n_norm, 1),
        "tpr_at_op": 1.0 - len(view.false_negatives) / max(n_anom, 1),
    }
    if with_figures:
        aurocs = {k: v["auroc"] for k, v in view.metrics.items()}
        payload["roc_fig"] = F.roc_figure(view.roc, aurocs, operating_point=(payload["fpr_at_op"], payload["tpr_at_op"]),
                                          max_points=200, height=400, template=None)
        payload["hist_fig"] = F.score_histogram(view.scores, live.is_anomaly, view.threshold, height=280, template=None)
        if grid is not None:
            payload["heat_fig"] = F.auroc_heatmap(*grid, current=(lam, topk), template=None)
    return payload


def slider_update_timing(bundle: Bundle | None = None, normal: Sequence[int] = (0,), n_moves: int = 40,
                         serialize: bool = True, seed: int = 0) -> dict[str, float]:
    """Time the BLISS page's server-side work per lambda/K slider move.

    Uses a 10,000-test-image simulated bundle (1,000 per class, D=512, 1,860 dictionary entries)
    unless ``bundle`` is given. Each move runs :func:`scoring_payload` (LiveScoring.view,
    metrics table, galleries, ROC + score-histogram figures) and, with ``serialize``, the
    figures' JSON encoding that ``st.plotly_chart`` performs. Returns milliseconds:
    ``p50``, ``p95``, ``max``, ``mean`` and the one-off ``setup_s`` (LiveScoring fit).
    """
    if bundle is None:
        from .simulate import make_simulated_bundle

        bundle = make_simulated_bundle(test_per_class=1000, dim=512, n_dict=1860)
    t0 = time.perf_counter()
    live = LiveScoring(bundle, list(normal), max_topk=MAX_TOPK)
    setup = time.perf_counter() - t0
    lams, topks = heatmap_axes(live.max_topk)
    grid = (lams, topks, live.auroc_grid(lams, topks))  # cached per normal set in the app
    rng = np.random.default_rng(seed)
    scoring_payload(live, 0.5, 10, grid=grid)  # warm-up (imports)
    times = []
    for i in range(n_moves):
        if i % 2:
            lam, k = 0.5, int(rng.integers(1, live.max_topk + 1))
        else:
            lam, k = float(rng.choice(np.arange(0, LAMBDA_MAX + 1e-9, 0.05))), 10
        t = time.perf_counter()
        p = scoring_payload(live, lam, k, grid=grid)
        if serialize:
            import plotly.io as pio
            import plotly.tools

            for name in ("roc_fig", "hist_fig", "heat_fig"):  # what st.plotly_chart does
                pio.to_json(plotly.tools.return_figure_from_figure_or_data(p[name], True), validate=False)
            for rows in (p["rows"], p["fp"], p["fn"]):
                pd.DataFrame(rows).to_json()
        times.append((time.perf_counter() - t) * 1000)
    arr = np.asarray(times)
    return {"p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95)),
            "max": float(arr.max()), "mean": float(arr.mean()), "n_moves": n_moves,
            "n_test": int(len(live.test_idx)), "setup_s": setup}


# ------------------------------------------------------------------------------------------
# images: uploads and thumbnails
# ------------------------------------------------------------------------------------------
def check_uploads(files: Sequence[Any]) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Size/count checks on Streamlit UploadedFile objects; returns (name, bytes) and messages."""
    ok: list[tuple[str, bytes]] = []
    msgs: list[str] = []
    files = list(files or [])
    if len(files) > MAX_UPLOAD_FILES:
        msgs.append(f"{len(files)} files uploaded; only the first {MAX_UPLOAD_FILES} are used (BLISS_MAX_UPLOAD_FILES).")
        files = files[:MAX_UPLOAD_FILES]
    for f in files:
        name = os.path.basename(str(getattr(f, "name", "upload")))
        size = int(getattr(f, "size", 0) or 0)
        if size > MAX_UPLOAD_MB * 1024**2:
            msgs.append(f"{name}: {size / 1024**2:.1f} MB is above the {MAX_UPLOAD_MB:g} MB limit; skipped.")
            continue
        data = f.getvalue() if hasattr(f, "getvalue") else f.read()
        ok.append((name, bytes(data)))
    return ok, msgs


def decode_uploads(pairs: Sequence[tuple[str, bytes]]) -> tuple[list[tuple[str, Any]], list[str]]:
    """Decode images (PIL) with the data module's checks; refused files named in messages."""
    from .data import images_from_uploads

    good, bad = images_from_uploads(pairs)
    return good, [f"{name}: {reason}." for name, reason in bad]


def thumbnail(img, size: int = 128) -> bytes:
    """PNG bytes of a PIL image scaled to fit ``size``."""
    im = img.copy()
    im.thumbnail((size, size))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def thumb_reader(source) -> Callable[[str], bytes | None]:
    """Thumbnail PNG bytes by image id, read from an open :class:`bliss_core.data.ImageSource`."""
    items = {it.image_id: it for it in source.items}

    def read(image_id: str) -> bytes | None:
        it = items.get(image_id)
        return None if it is None else thumbnail(it.load())

    return read


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner="Finding the bundle's images on the server…")
def _bundle_images(dataset: str) -> Callable[[str], bytes | None] | None:
    """Thumbnails for a server bundle file (BLISS_BUNDLE) whose images are still where
    ``bliss embed`` read them (its ``meta["dataset"]``: a folder, zip or TinyImageNet path)."""
    from .data import DataError, paths_allowed

    kind = dataset.partition(":")[0].lower()
    if kind not in ("folder", "zip", "tinyimagenet") or not paths_allowed(None):
        return None
    from .data import open_source

    try:
        return thumb_reader(open_source(dataset))
    except (DataError, OSError) as exc:
        log.info("no thumbnails for bundle images at %s: %s", dataset, exc)
        return None


def _use_thumb_reader(reader: Callable[[str], bytes | None] | None) -> None:
    """Make ``reader`` the session's thumbnail source; a new source forgets the old thumbnails
    (two sources can share image ids such as ``train/cat/0001.jpg``)."""
    ss = st.session_state
    if ss.get("thumb_reader") is not reader:
        ss["thumb_reader"] = reader
        ss["thumbs"] = {}


def register_images(images: dict[str, bytes]) -> None:
    """Remember thumbnails by image id for this session (bounded)."""
    store = st.session_state.setdefault("thumbs", {})
    store.update(images)
    while len(store) > 5000:
        store.pop(next(iter(store)))


def thumb_for(image_id: str) -> bytes | None:
    """Thumbnail PNG bytes for an image id, when this session has it (model sources)."""
    store = st.session_state.get("thumbs") or {}
    if image_id in store:
        return store[image_id]
    reader = st.session_state.get("thumb_reader")
    if reader is not None:
        try:
            data = reader(image_id)
        except Exception:
            data = None
        if data is not None:
            register_images({image_id: data})
        return data
    return None


# ------------------------------------------------------------------------------------------
# page frame
# ------------------------------------------------------------------------------------------
def source_banner(cur: Current | None) -> None:
    """The simulation / untrained warnings every page shows."""
    if cur is None:
        return
    if cur.bundle.is_simulation:
        st.info("**SIMULATION** — these are synthetic embeddings with a planted text clustering effect, "
                "not the output of a model. Choose a real model or a bundle on the home page.", icon=":material/science:")
    if cur.bundle.untrained:
        st.warning("**UNTRAINED MODEL (plumbing check)** — the embeddings come from random weights; "
                   "the numbers say nothing about CLIP or BLISS.", icon=":material/warning:")


def show_error(exc: BaseException, where: str) -> None:
    """Log ``exc`` server-side and show a friendly message (never a traceback)."""
    from .metrics import MetricError
    from .scoring import ScoringError

    if isinstance(exc, AppError):
        st.error(str(exc))
    elif isinstance(exc, (ScoringError, MetricError)):
        log.info("%s: %s", where, exc)
        st.warning(f"This cannot be computed with the current choices: {exc} Change the normal classes on the home page.")
    elif isinstance(exc, (BundleError, ValueError)):
        log.warning("%s: %s", where, exc, exc_info=True)
        st.error(f"This cannot be shown with the current choices: {exc}")
    else:
        log.error("%s failed", where, exc_info=exc)
        st.error("Something went wrong here. The details are in the server log; try other settings or reload the page.")


def guarded(fn: Callable) -> Callable:
    """Decorator: run ``fn`` with :func:`show_error` handling (for fragments)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            show_error(exc, fn.__name__)

    return wrapper


def run_page(title: str, caption: str, body: Callable[[Current], None], needs_bundle: bool = True) -> None:
    """Title, caption, banners and the body; exceptions are logged and shown as a friendly error."""
    st.title(title)
    st.caption(caption)
    try:
        cur = current() if needs_bundle else None
        source_banner(cur)
        body(cur)
    except Exception as exc:
        show_error(exc, f"page {title}")


def download_figure(fig, name: str, key: str) -> None:
    """Download button for a figure as a self-contained HTML file."""
    from .figures import figure_html

    st.download_button(f"⬇ {name} (HTML)", data=lambda: figure_html(fig), file_name=f"{name}.html", mime="text/html",
                       key=key, on_click="ignore")


def md_escape(text: str) -> str:
    """Escape a user string for st.markdown (no links, images, emphasis or HTML from data)."""
    import re

    text = str(text).replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~$])", r"\\\1", text)


def normal_label(bundle: Bundle, c: int) -> str:
    """A class name for markdown, with the words its label embedding encodes when reworded."""
    from .whatif import label_text

    name, words = bundle.class_names[int(c)], label_text(bundle, c)
    return md_escape(name) if words == name else f"{md_escape(name)} (as “{md_escape(words)}”)"


def content_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


CLUSTERING_METRICS = (
    ("text_text", "text ↔ text similarity", "Mean cosine similarity between text embeddings (labels and dictionary)."),
    ("image_image", "image ↔ image similarity", "Mean cosine similarity between image embeddings."),
    ("image_text", "image ↔ text similarity", "Mean cosine similarity between an image and a text."),
    ("modality_gap", "modality gap", "Distance between the mean image and the mean text embedding."),
)


def show_clustering_stats(stats: dict, slots: Sequence[Any]) -> None:
    """The four text clustering statistics as metrics, one per slot (columns or containers)."""
    for slot, (key, label, help_text) in zip(slots, CLUSTERING_METRICS):
        slot.metric(label, f"{stats[key]:.3f}", help=help_text)

