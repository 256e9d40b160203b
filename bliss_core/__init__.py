"""bliss-lab core: embeddings, bundles, BLISS scoring, baselines, metrics and diagnostics.

Importing this package (and its scoring, metrics and bundle modules) does not import torch;
only :mod:`bliss_core.embed` and the data loaders do, when they are used.
"""

from .bundle import Bundle, BundleError, load_bundle, save_bundle
from .evaluate import EvaluationError, evaluate
from .metrics import MetricError, auroc, aupr, detection_metrics, fpr_at_tpr
from .scoring import BlissScorer, KNNScorer, MaxSimScorer, MCMScorer, ScoringError, make_scorer
from .simulate import SimulationConfig, make_simulated_bundle
from .splits import SplitError, parse_normal_sets, setup_splits

__all__ = [
    "Bundle", "BundleError", "load_bundle", "save_bundle",
    "EvaluationError", "evaluate",
    "MetricError", "auroc", "aupr", "detection_metrics", "fpr_at_tpr",
    "BlissScorer", "KNNScorer", "MaxSimScorer", "MCMScorer", "ScoringError", "make_scorer",
    "SimulationConfig", "make_simulated_bundle",
    "SplitError", "parse_normal_sets", "setup_splits",
]
__version__ = "0.1.0"
