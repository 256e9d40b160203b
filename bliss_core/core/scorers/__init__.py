"""The anomaly scorers, one per module, all scikit-learn estimators with one contract::

    scorer = BlissScorer(class_text_emb=T, dict_text_emb=D, lam=0.5, topk=10).fit(X_ref, y_ref)
    scores = scorer.decision_function(X_test)        # higher = more anomalous (PyOD's sign)

``fit(X, y)`` takes the normal reference images and their classes (indices into the rows of
``class_text_emb``); the text embeddings a scorer needs are constructor parameters, so
``get_params``/``set_params``/:func:`sklearn.base.clone` are scikit-learn's. ``precompute(X)``
does all the work on a test set that does not depend on the score's knobs and returns an object
whose ``scores(lam, topk, classes)`` is cheap: what ablation grids and the app's sliders call.
``classes`` picks a subset of the fitted normal classes, so one fit on the union of several
splits serves them all.

Names are imported on first use (PEP 562): the defaults and checks in :mod:`.checks` need only
numpy, so the CLI reads them without importing scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ...errors import NotFittedError, ScoringError

if TYPE_CHECKING:
    from .base import BaseScorer, FixedPrecomputed
    from .bliss import BlissScorer
    from .checks import DEFAULT_LAMBDA, DEFAULT_TOPK, EPS, METHOD_NAMES, check_lambda, check_topk
    from .gapshift import GapShiftScorer
    from .knn import KNNScorer
    from .maxsim import MaxSimScorer
    from .mcm import MCMScorer
    from .neglabel import NegLabelScorer
    from .precompute import DENSE_BYTES, BlissPrecomputed
    from .registry import SCORERS, make_scorer

_WHERE = {
    "BaseScorer": "base",
    "FixedPrecomputed": "base",
    "BlissScorer": "bliss",
    "DEFAULT_LAMBDA": "checks",
    "DEFAULT_TOPK": "checks",
    "EPS": "checks",
    "check_lambda": "checks",
    "check_topk": "checks",
    "GapShiftScorer": "gapshift",
    "KNNScorer": "knn",
    "MaxSimScorer": "maxsim",
    "MCMScorer": "mcm",
    "NegLabelScorer": "neglabel",
    "DENSE_BYTES": "precompute",
    "BlissPrecomputed": "precompute",
    "METHOD_NAMES": "checks",
    "SCORERS": "registry",
    "make_scorer": "registry",
}

__all__ = [
    "DEFAULT_LAMBDA",
    "DEFAULT_TOPK",
    "DENSE_BYTES",
    "EPS",
    "METHOD_NAMES",
    "SCORERS",
    "BaseScorer",
    "BlissPrecomputed",
    "BlissScorer",
    "FixedPrecomputed",
    "GapShiftScorer",
    "KNNScorer",
    "MCMScorer",
    "MaxSimScorer",
    "NegLabelScorer",
    "NotFittedError",
    "ScoringError",
    "check_lambda",
    "check_topk",
    "make_scorer",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
