"""The Compare page's library side: two or more bundles side by side.

Sources are the ``BLISS_BUNDLE`` files (several, separated by ``os.pathsep``), bundles uploaded
on the page, and simulations with different knobs. For the chosen ones the page shows the four
clustering statistics, their joint projections with one method, BLISS's gain over the internal
score at the session's lambda and K, the lambda x K heat maps, and, when the bundles share test
image ids (the same images under another model, prompt or dictionary), which images change
verdict between them (threshold at 95% TPR in each bundle).

Every string that comes from data (file names, class names, model names, image ids) reaches
the page through ``st.text``, ``st.code`` or a dataframe cell, never Markdown; widget labels
are fixed words. Computations are cached per process and keyed by bundle content.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from .. import settings
from ..core.bundle import Bundle
from ..core.compare import (
    CLUSTERING_KEYS,
    DEFAULT_LAMS,
    DEFAULT_TOPKS,
    bundle_summary,
    compare_verdicts,
    grid_topks,
)
from ..core.live import LiveScoring
from ..errors import AppError
from . import cached, sources
from .state import DEFAULT_LAMBDA, DEFAULT_SIM, DEFAULT_TOPK, SIM_INTS, SIM_LIMITS

__all__ = [
    "MAX_SOURCES",
    "TPR",
    "CompareSource",
    "available_sources",
    "clustering_rows",
    "common_classes",
    "gain_bars",
    "gain_rows",
    "heatmap_for",
    "live_for",
    "projection_for",
    "selected_sources",
    "sim_label",
    "stat_bars",
    "summary_rows",
    "verdict_table",
]

CACHE_TTL = settings.get("BLISS_CACHE_TTL_S")
MAX_SOURCES = 6  # small multiples stay readable, and the work stays bounded
TPR = 0.95
MAX_VERDICT_ROWS = 500
STAT_NAMES = {
    "text_text": "text ↔ text",
    "image_image": "image ↔ image",
    "image_text": "image ↔ text",
    "modality_gap": "modality gap",
}


@dataclass
class CompareSource:
    """One bundle the page can compare: ``label`` is shown as text (it may hold a file name)."""

    label: str
    key: str  # content key for caches
    kind: str  # bundle_file | bundle_upload | simulation
    bundle: Bundle


def sim_label(params: dict) -> str:
    """A simulation's knobs in a few words."""
    return (
        "simulation: text bias {text_bias:g}, gap {modality_gap:g}, class signal {class_signal:g}, "
        "noise {noise:g}, seed {seed}"
    ).format(**{**DEFAULT_SIM, **params})


def _sims() -> list[dict]:
    """The session's simulations to compare; by default (no ``BLISS_BUNDLE``) the planted effect
    and the same space without it, so the page shows a comparison at once."""
    ss = st.session_state
    if "cmp_sims" not in ss:
        ss["cmp_sims"] = (
            [] if sources.env_bundles() else [dict(DEFAULT_SIM), {**DEFAULT_SIM, "text_bias": 0.0}]
        )
    return ss["cmp_sims"]


def add_simulation(params: dict) -> None:
    """Add a simulation with ``params`` (clamped to the knobs' ranges) unless it is there already."""
    clean = {}
    for k, (lo, hi) in SIM_LIMITS.items():
        v = min(max(float(params.get(k, DEFAULT_SIM[k])), lo), hi)
        clean[k] = int(v) if k in SIM_INTS else v
    sims = _sims()
    if clean not in sims:
        sims.append(clean)
        st.session_state.setdefault("cmp_selected", [])
        st.session_state["cmp_selected"] = [*st.session_state["cmp_selected"], sim_label(clean)]


def clear_simulations() -> None:
    """Forget the session's simulations (the BLISS_BUNDLE files and uploads stay)."""
    labels = {sim_label(p) for p in _sims()}
    st.session_state["cmp_sims"] = []
    st.session_state["cmp_selected"] = [
        s for s in st.session_state.get("cmp_selected", []) if s not in labels
    ]


def take_uploads(files: Sequence[tuple[str, bytes]]) -> list[str]:
    """Load uploaded bundles (name, bytes) into the session and add them to the chosen ones;
    returns messages about refused ones. Call it before the ``cmp_selected`` widget."""
    held: dict[str, tuple[str, Bundle]] = st.session_state.setdefault("cmp_uploads", {})
    msgs = []
    for name, data in files:
        sha = sources.content_sha(data)
        if sha in held:
            continue
        try:
            held[sha] = (name, sources.load_bundle_upload(name, data))
        except AppError as exc:
            msgs.append(str(exc))
            continue
        if "cmp_selected" in st.session_state:  # a new upload joins the comparison (before the widget exists)
            st.session_state["cmp_selected"] = [*st.session_state["cmp_selected"], f"upload: {name}"]
    return msgs


def available_sources() -> tuple[list[CompareSource], list[str]]:
    """Every source the page offers, with distinct labels, and messages about files that failed."""
    out: list[CompareSource] = []
    msgs: list[str] = []
    for path in sources.env_bundles():
        try:
            cur = sources.bundle_file(path)
        except AppError as exc:
            msgs.append(str(exc))
            continue
        out.append(CompareSource(os.path.basename(path), cur.key, "bundle_file", cur.bundle))
    for sha, (name, bundle) in st.session_state.get("cmp_uploads", {}).items():
        out.append(CompareSource(f"upload: {name}", f"upload:{sha}", "bundle_upload", bundle))
    for params in _sims():
        cur = sources.simulation(params)
        out.append(CompareSource(sim_label(params), cur.key, "simulation", cur.bundle))
    seen: dict[str, int] = {}
    for s in out:  # two files of one name in different folders
        seen[s.label] = seen.get(s.label, 0) + 1
        if seen[s.label] > 1:
            s.label = f"{s.label} ({seen[s.label]})"
    return out, msgs


def selected_sources(available: Sequence[CompareSource]) -> list[CompareSource]:
    """The sources chosen in the ``cmp_selected`` multiselect (default: the first few)."""
    ss = st.session_state
    labels = [s.label for s in available]
    if "cmp_selected" not in ss:
        ss["cmp_selected"] = labels[: min(len(labels), 4)]
    ss["cmp_selected"] = [label for label in ss["cmp_selected"] if label in labels][:MAX_SOURCES]
    chosen = set(ss["cmp_selected"])
    return [s for s in available if s.label in chosen]


def common_classes(chosen: Sequence[CompareSource]) -> list[str]:
    """Class names every chosen bundle has, in the first bundle's order."""
    if not chosen:
        return []
    shared = set(chosen[0].bundle.class_names)
    for s in chosen[1:]:
        shared &= set(s.bundle.class_names)
    return [c for c in dict.fromkeys(chosen[0].bundle.class_names) if c in shared]


def normal_indices(bundle: Bundle, names: Sequence[str]) -> tuple[int, ...]:
    """The bundle's class indices of ``names`` (the first class of a name)."""
    index = bundle.class_index()
    return tuple(sorted(index[n] for n in names))


# -- cached computations (shared by every session of the process) ------------------------------
def live_for(source: CompareSource, normal: tuple[int, ...], exclude: bool) -> LiveScoring:
    """BLISS and the baselines fitted for one bundle and its normal classes (the scoring page's
    cache: the same bundle and classes share one precomputation across pages)."""
    return cached.live_scoring(source.key, normal, source.bundle, None, bool(exclude), max(DEFAULT_TOPKS))


def projection_for(
    source: CompareSource, normal: tuple[int, ...], method: str, sample_size: int = 1000
) -> Any:
    """The joint scatter of one bundle's images, labels and dictionary, by ``method``."""
    from ..analysis import figures as F
    from ..analysis.explore import joint_points

    jp = joint_points(source.bundle, normal, sample_size=sample_size, dict_size=400, seed=0)
    coords = cached.projection(source.key, normal, method, sample_size, "{}", jp.points)
    return F.projection_scatter(
        coords, jp.modality, jp.text, jp.ids, jp.class_name, height=420, template=None, detail=jp.detail
    )


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _grid(
    key: str, normal: tuple[int, ...], exclude: bool, _live_scoring: LiveScoring
) -> tuple[list[float], list[int], np.ndarray]:
    topks = grid_topks(_live_scoring.bundle, [normal], exclude)
    return list(DEFAULT_LAMS), topks, _live_scoring.auroc_grid(DEFAULT_LAMS, topks)


def heatmap_for(source: CompareSource, normal: tuple[int, ...], exclude: bool, lam: float, topk: int) -> Any:
    """The lambda x K AUROC heat map of one bundle (the grid ``bliss compare`` searches)."""
    from ..analysis import figures as F

    lams, topks, grid = _grid(source.key, normal, bool(exclude), live_for(source, normal, exclude))
    return F.auroc_heatmap(lams, topks, grid, current=(lam, topk), title=None, height=320, template=None)


# -- tables ------------------------------------------------------------------------------------
def session_lam_topk() -> tuple[float, int]:
    """The session's lambda and K (set on the BLISS scoring page)."""
    ss = st.session_state
    return float(ss.get("lam", DEFAULT_LAMBDA)), int(ss.get("topk", DEFAULT_TOPK))


def _flag(bundle: Bundle) -> str:
    return (
        "UNTRAINED (random weights)" if bundle.untrained else ("SIMULATION" if bundle.is_simulation else "")
    )


def summary_rows(chosen: Sequence[CompareSource]) -> list[dict]:
    """What made each bundle: model, weights, prompt, dictionary, size."""
    rows = []
    for s in chosen:
        b = s.bundle
        meta = bundle_summary(b)
        rows.append(
            {
                "bundle": s.label,
                "model": meta["model"],
                "weights": meta["weights"],
                "prompt": meta["prompt"],
                "dictionary": meta["dictionary"],
                "note": _flag(b),
                "images": len(b.image_label),
                "classes": len(b.class_names),
                "entries": len(b.dict_names),
                "D": b.dim,
            }
        )
    return [
        {k: ("" if v is None else v if isinstance(v, (int, float)) else str(v)) for k, v in r.items()}
        for r in rows
    ]


def clustering_rows(chosen: Sequence[CompareSource]) -> list[dict]:
    """The four clustering statistics per bundle (all images; label and dictionary texts)."""
    return [
        {
            "bundle": s.label,
            **{STAT_NAMES[k]: float(cached.clustering_stats(s.key, s.bundle)[k]) for k in CLUSTERING_KEYS},
        }
        for s in chosen
    ]


def gain_rows(
    chosen: Sequence[CompareSource], normal_names: Sequence[str], exclude: bool, lam: float, topk: int
) -> list[dict]:
    """AUROC of the internal score, BLISS at (lam, K), the gain, max-sim and kNN per bundle."""
    rows = []
    for s in chosen:
        live = live_for(s, normal_indices(s.bundle, normal_names), exclude)
        k = min(int(topk), live.max_topk)
        bliss = float(live.view(lam, k, TPR).metrics["bliss"]["auroc"])
        base = {m: float(v["auroc"]) for m, v in live.baseline_metrics.items()}
        rows.append(
            {
                "bundle": s.label,
                "K used": k,
                "internal (λ=0)": base["internal"],
                "BLISS": bliss,
                "gain": bliss - base["internal"],
                "CLIP max-sim": base["maxsim"],
                "kNN": base["knn"],
            }
        )
    return rows


def verdict_table(
    chosen: Sequence[CompareSource], normal_names: Sequence[str], exclude: bool, lam: float, topk: int
) -> tuple[int, int, list[dict]]:
    """(shared test images, how many change verdict, a row per changed image, at most
    ``MAX_VERDICT_ROWS``). Each bundle flags an image when its BLISS score reaches the
    threshold that catches 95% of that bundle's anomalies."""
    ids, flagged, lives = [], [], []
    for s in chosen:
        live = live_for(s, normal_indices(s.bundle, normal_names), exclude)
        view = live.view(lam, min(int(topk), live.max_topk), TPR)
        ids.append(s.bundle.image_names(live.test_idx) if s.bundle.image_id else None)
        flagged.append(view.scores >= view.threshold)
        lives.append(live)
    v = compare_verdicts(ids, flagged)
    first = chosen[0].bundle if chosen else None
    rows = []
    for s_i in np.flatnonzero(v.changed)[:MAX_VERDICT_ROWS]:
        pos0 = int(v.positions[s_i, 0])
        row0 = int(lives[0].test_idx[pos0])
        truth = bool(lives[0].is_anomaly[pos0])
        row = {
            "image": v.ids[s_i],
            "class": first.class_names[int(first.image_label[row0])],
            "truth": "anomaly" if truth else "normal",
        }
        for b_i, s in enumerate(chosen):
            flag = bool(v.flagged[s_i, b_i])
            right = flag == truth
            row[s.label] = ("flagged" if flag else "passed") + (" ✓" if right else " ✗")
        rows.append(row)
    return len(v.ids), v.n_changed, rows


def stat_bars(rows: Sequence[dict]) -> Any:
    """The clustering statistics of :func:`clustering_rows` as grouped bars (one colour per bundle)."""
    from ..analysis import figures as F

    names = [STAT_NAMES[k] for k in CLUSTERING_KEYS]
    return F.grouped_bars(
        names,
        {r["bundle"]: [r[n] for n in names] for r in rows},
        template=None,
        yaxis="cosine similarity / distance",
    )


def gain_bars(rows: Sequence[dict]) -> Any:
    """The AUROCs of :func:`gain_rows` as grouped bars (one colour per method)."""
    from ..analysis import figures as F

    methods = {"internal (λ=0)": "internal", "BLISS": "bliss", "CLIP max-sim": "maxsim", "kNN": "knn"}
    fig = F.grouped_bars(
        [r["bundle"] for r in rows],
        {m: [r[m] for r in rows] for m in methods},
        template=None,
        yaxis="AUROC",
        colors={m: F.METHOD_COLORS[k] for m, k in methods.items()},
    )
    low = min(min(r[m] for m in methods) for r in rows)
    fig.update_yaxes(range=[max(0.0, low - 0.05), 1.0])
    return fig
