"""The scoring core: bundles, BLISS and baseline scorers, metrics, splits, evaluation,
simulation and the clustering statistics. numpy and scikit-learn only (scikit-learn is
imported on the first metric, not here)."""

from .bundle import Bundle, load_bundle, save_bundle
from .evaluate import evaluate
from .metrics import aupr, auroc, detection_metrics, fpr_at_tpr
from .scoring import BlissScorer, KNNScorer, MaxSimScorer, MCMScorer, make_scorer
from .simulate import SimulationConfig, make_simulated_bundle
from .splits import check_normal, parse_normal_sets, setup_splits

__all__ = [
    "BlissScorer",
    "Bundle",
    "KNNScorer",
    "MCMScorer",
    "MaxSimScorer",
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
