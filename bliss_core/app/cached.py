"""Computations shared by every session of the server process, keyed by bundle content.

Streamlit's resource cache holds one :class:`~bliss_core.core.live.LiveScoring` per (bundle,
normal classes, reference-image sample, dictionary exclusion): thirty students on the same
bundle and classes share one precomputation (and its remembered slider views), so memory grows
with distinct bundles and choices, not with sessions.
"""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from .. import settings
from ..core.bundle import Bundle
from ..core.live import LiveScoring
from .state import MAX_TOPK

CACHE_TTL = settings.get("BLISS_CACHE_TTL_S")
HEATMAP_LAMBDAS = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]
HEATMAP_TOPKS = (1, 2, 5, 10, 20, 30, 50)


@st.cache_resource(max_entries=8, ttl=CACHE_TTL, show_spinner=False)
def live_scoring(
    key: str,
    normal: tuple[int, ...],
    _bundle: Bundle,
    shots: int | None = None,
    exclude_normal_names: bool = False,
    max_topk: int = MAX_TOPK,
) -> LiveScoring:
    return LiveScoring(
        _bundle,
        list(normal),
        max_topk=max_topk,
        shots=shots,
        seed=0,
        exclude_normal_names=exclude_normal_names,
        backend=scoring_backend(),
    )


@st.cache_resource(show_spinner=False)
def scoring_backend():
    """The scoring backend for the app: the torch one on a GPU when there is one, else numpy."""
    try:
        from ..scale.torch_backend import auto_backend
    except ImportError:
        return "numpy"
    return auto_backend(settings.get("BLISS_DEVICE"))


def heatmap_axes(max_topk: int) -> tuple[list[float], list[int]]:
    return list(HEATMAP_LAMBDAS), [k for k in HEATMAP_TOPKS if k <= max_topk]


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def auroc_grid(live_key: tuple, _live: LiveScoring) -> tuple[list[float], list[int], np.ndarray]:
    lams, topks = heatmap_axes(_live.max_topk)
    return lams, topks, _live.auroc_grid(lams, topks)


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def clustering_stats(key: str, _bundle: Bundle) -> dict:
    """:func:`~bliss_core.core.diagnostics.bundle_clustering_stats` once per bundle content (the
    home, embedding and compare pages all show them, and rerun often)."""
    from ..core.diagnostics import bundle_clustering_stats

    return bundle_clustering_stats(_bundle)


@st.cache_data(max_entries=12, ttl=CACHE_TTL, show_spinner=False)
def projection(
    key: str, normal: tuple[int, ...], method: str, sample_size: int, params_json: str, _points: np.ndarray
) -> np.ndarray:
    from ..analysis.projection import project

    return project(_points, method=method, seed=0, **json.loads(params_json))
