"""Session state and URL state: the settings a session carries from page to page and in its link.

Every widget value that must survive a page switch is listed in :data:`PERSIST_KEYS`; the URL
carries what a shared link must reproduce (validated and clamped on the way in, so a link can
never reach a server path or an out-of-range value).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import streamlit as st

from ..core.scorers.checks import DEFAULT_LAMBDA, DEFAULT_TOPK
from ..core.simulate import SimulationConfig
from ..core.text import DEFAULT_PROMPT

log = logging.getLogger("bliss.app")

MAX_TOPK = 50
LAMBDA_MAX = 3.0
#: The simulation's knobs in the app, with the library's defaults (one source of truth).
DEFAULT_SIM = {
    k: getattr(SimulationConfig(), k)
    for k in ("text_bias", "modality_gap", "class_signal", "noise", "seed", "test_per_class")
}
SIM_LIMITS = {
    "text_bias": (0.0, 3.0),
    "modality_gap": (0.0, 4.0),
    "class_signal": (0.1, 2.0),
    "noise": (0.2, 3.0),
    "seed": (0, 10_000),
    "test_per_class": (20, 1000),
}
SIM_INTS = ("seed", "test_per_class")
SIM_STEPS = {"seed": 1, "test_per_class": 20}  # the other knobs move in steps of 0.1
PERSIST_KEYS = (
    "lam",
    "topk",
    "proj_method",
    "color_by",
    "sample_size",
    "perplexity",
    "n_neighbors",
    "min_dist",
    "tpr",
    "normal_sel",
    "prompt",
    "sim_text_bias",
    "sim_modality_gap",
    "sim_class_signal",
    "sim_noise",
    "sim_seed",
    "sim_test_per_class",
    "presenter",
    "shots",
    "exclude_names",
)


def _qp_float(qp: Any, key: str, default: float, lo: float, hi: float) -> float:
    try:
        v = float(qp.get(key, default))
        return float(min(max(v, lo), hi)) if np.isfinite(v) else default
    except (TypeError, ValueError, OverflowError):
        return default


def source_params(source: dict[str, Any]) -> dict[str, str]:
    """The URL parameters that name ``source``: the simulation, or a BLISS_BUNDLE file by its
    name (never a path); uploads and model runs are named only as such (they cannot be shared)."""
    kind = source.get("kind")
    if kind == "simulation":
        return {"src": "sim"}
    if kind == "bundle_file":
        return {"src": "bundle", "bundle": os.path.basename(str(source.get("path", "")))}
    return {"src": "upload" if kind == "bundle_upload" else "model"}


def _source_from_link(qp: Any, env_source: dict[str, Any], env_files: Sequence[str]) -> dict[str, Any]:
    """The source a link names, among what the server offers; a note when it cannot be had."""
    src = qp.get("src")
    if src == "sim":
        return {"kind": "simulation"}
    if src == "bundle":
        name = qp.get("bundle", "")
        for path in env_files:
            if os.path.basename(path) == name:
                return {"kind": "bundle_file", "path": path}
        st.session_state["link_note"] = (
            "This link names a bundle file this server does not offer (any more); "
            "showing the server's default instead."
        )
    elif src in ("upload", "model"):
        st.session_state["link_note"] = (
            "This link was made from an upload or a model run that only its author's "
            "session had, so it cannot be opened here; showing the server's default "
            "instead."
        )
    return dict(env_source)


def init_session(env_source: dict[str, Any], env_files: Sequence[str] = ()) -> None:
    """Set defaults once per session, from the URL query params where given (validated).

    ``env_source`` is the source the operator configured (a BLISS_BUNDLE file, else the
    simulation); a link may name the simulation or another of the ``env_files`` by name.
    """
    ss = st.session_state
    if ss.get("_bliss_init"):
        for k in PERSIST_KEYS:  # keep widget values alive across pages
            if k in ss:
                ss[k] = ss[k]
        return
    qp = st.query_params
    ss["source"] = _source_from_link(qp, env_source, env_files)
    ss["presenter"] = qp.get("present") == "1"
    for k, (lo, hi) in SIM_LIMITS.items():
        v = _qp_float(qp, "sim_" + k, DEFAULT_SIM[k], lo, hi)
        ss["sim_" + k] = int(v) if k in SIM_INTS else v
    ss["lam"] = _qp_float(qp, "lam", DEFAULT_LAMBDA, 0.0, LAMBDA_MAX)
    ss["topk"] = int(_qp_float(qp, "k", DEFAULT_TOPK, 1, MAX_TOPK))
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
    ss["prompt"] = DEFAULT_PROMPT
    ss["_bliss_init"] = True


def sim_params() -> dict[str, Any]:
    """The session's simulation knobs."""
    ss = st.session_state
    return {k: ss.get("sim_" + k, DEFAULT_SIM[k]) for k in DEFAULT_SIM}


def sync_query_params(**extra: Any) -> None:
    """Write the current settings to the URL so the view can be shared."""
    ss = st.session_state
    source = ss.get("source") or {"kind": "simulation"}
    params: dict[str, str] = source_params(source)
    if source.get("kind") == "simulation":
        for k in SIM_LIMITS:
            v = ss.get("sim_" + k, DEFAULT_SIM[k])
            if v != DEFAULT_SIM[k]:
                params["sim_" + k] = f"{v:g}"
    if ss.get("normal") is not None:
        params["normal"] = ",".join(str(c) for c in ss["normal"])
    params["lam"] = f"{ss.get('lam', DEFAULT_LAMBDA):g}"
    params["k"] = str(int(ss.get("topk", DEFAULT_TOPK)))
    if ss.get("presenter"):
        params["present"] = "1"
    for k, v in extra.items():
        params[k] = str(v)
    try:
        current = st.query_params.to_dict()
        if current != params:  # replace, so that stale keys (another source's) do not linger
            st.query_params.from_dict(params)
    except Exception:
        log.debug("could not update query params", exc_info=True)


def normal_classes(bundle_key: str, class_names: Sequence[str]) -> list[int]:
    """The session's normal classes for the current bundle (validated; default: class 0)."""
    ss = st.session_state
    n = len(class_names)
    if ss.get("normal_for") != bundle_key:
        wanted = ss.pop("normal_qp", None) or ss.get("normal") or [0]
        wanted = sorted({int(c) for c in wanted if 0 <= int(c) < n}) or [0]
        ss["normal"] = wanted
        ss["normal_for"] = bundle_key
        ss["normal_sel"] = [class_names[c] for c in wanted]
    return list(ss["normal"])


def set_normal(bundle_key: str, class_names: Sequence[str], names: Sequence[str]) -> list[int]:
    """Make the classes called ``names`` the session's normal classes."""
    idx = {n: i for i, n in enumerate(class_names)}
    normal = sorted({idx[n] for n in names if n in idx})
    st.session_state["normal"] = normal
    st.session_state["normal_for"] = bundle_key
    return normal


def sim_knob(where: Any, knob: str, label: str, key: str, value: Any = None, **kw: Any) -> Any:
    """The widget for one simulation knob, within :data:`SIM_LIMITS` (a number box for the whole
    numbers, a slider for the others); ``value`` only where the key has no state of its own."""
    lo, hi = SIM_LIMITS[knob]
    if value is not None:
        kw["value"] = int(value) if knob in SIM_INTS else float(value)
    if knob in SIM_INTS:
        return where.number_input(label, lo, hi, step=SIM_STEPS[knob], key=key, **kw)
    return where.slider(label, lo, hi, step=0.1, key=key, **kw)
