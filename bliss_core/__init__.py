"""bliss-lab: see, measure and correct the text clustering effect of CLIP-like models.

The public API is re-exported here from the layers below it:

- :mod:`bliss_core.core`: bundles, scorers, metrics, splits, evaluation, simulation (numpy and
  scikit-learn only);
- :mod:`bliss_core.analysis`: projections, figures and reports (plotly, umap-learn, openTSNE);
- :mod:`bliss_core.embed`: models, image sources, dictionaries, the embedding cache and
  pipeline (torch, open_clip, Pillow);
- :mod:`bliss_core.scale`: the Ray engine and the torch scoring backend;
- :mod:`bliss_core.cli`: the ``bliss`` command; :mod:`bliss_core.app`: the Streamlit app.

Importing this package imports neither torch nor streamlit, nor scikit-learn until a scorer
name is first used.
"""

from typing import TYPE_CHECKING, Any

from .core.bundle import Bundle, load_bundle, save_bundle
from .core.evaluate import evaluate
from .core.metrics import aupr, auroc, detection_metrics, fpr_at_tpr
from .core.simulate import SimulationConfig, make_simulated_bundle
from .core.splits import parse_normal_sets, setup_splits
from .errors import (
    BlissError,
    BundleError,
    EvaluationError,
    MetricError,
    NotFittedError,
    ScoringError,
    SplitError,
)

if TYPE_CHECKING:
    from .core.scorers import (
        SCORERS,
        BlissScorer,
        GapShiftScorer,
        KNNScorer,
        MaxSimScorer,
        MCMScorer,
        NegLabelScorer,
        make_scorer,
    )

__all__ = [
    "SCORERS",
    "BlissError",
    "BlissScorer",
    "Bundle",
    "BundleError",
    "EvaluationError",
    "GapShiftScorer",
    "KNNScorer",
    "MCMScorer",
    "MaxSimScorer",
    "MetricError",
    "NegLabelScorer",
    "NotFittedError",
    "ScoringError",
    "SimulationConfig",
    "SplitError",
    "aupr",
    "auroc",
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
__version__ = "0.2.0"


def __getattr__(name: str) -> Any:
    from . import core

    if name in core.SCORER_NAMES:
        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
