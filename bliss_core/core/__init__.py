"""The scoring core: bundles, BLISS and baseline scorers, metrics, splits, evaluation,
simulation and the clustering statistics. numpy and scikit-learn only (scikit-learn is imported
with the first scorer or metric, not here: the scorer names load on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bundle import Bundle, load_bundle, save_bundle
from .evaluate import evaluate
from .metrics import aupr, auroc, detection_metrics, fpr_at_tpr
from .simulate import SimulationConfig, make_simulated_bundle
from .splits import check_normal, parse_normal_sets, setup_splits

if TYPE_CHECKING:
    from .scorers import (
        SCORERS,
        BlissScorer,
        GapShiftScorer,
        KNNScorer,
        MaxSimScorer,
        MCMScorer,
        NegLabelScorer,
        make_scorer,
    )

#: Names served by :mod:`.scorers` on first use (they import scikit-learn).
SCORER_NAMES = (
    "SCORERS",
    "BlissScorer",
    "GapShiftScorer",
    "KNNScorer",
    "MCMScorer",
    "MaxSimScorer",
    "NegLabelScorer",
    "make_scorer",
)

__all__ = [
    "SCORERS",
    "BlissScorer",
    "Bundle",
    "GapShiftScorer",
    "KNNScorer",
    "MCMScorer",
    "MaxSimScorer",
    "NegLabelScorer",
    "SimulationConfig",
    "aupr",
    "auroc",
    "check_normal",
    "detection_metrics",
    "evaluate",
    "fpr_at_tpr",
    "load_bundle",
    "make_scorer",
    "make_simulated_bundle",
    "parse_normal_sets",
    "save_bundle",
    "setup_splits",
]


def __getattr__(name: str) -> Any:
    if name in SCORER_NAMES:
        from . import scorers

        return getattr(scorers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
