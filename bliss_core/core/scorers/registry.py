"""Scorers by name: what ``--method`` and the app choose from."""

from __future__ import annotations

from typing import Any

from ...errors import ScoringError
from .base import BaseScorer
from .bliss import BlissScorer
from .gapshift import GapShiftScorer
from .knn import KNNScorer
from .maxsim import MaxSimScorer
from .mcm import MCMScorer
from .neglabel import NegLabelScorer

__all__ = ["SCORERS", "make_scorer"]

SCORERS: dict[str, type[BaseScorer]] = {
    "bliss": BlissScorer,
    "maxsim": MaxSimScorer,
    "knn": KNNScorer,
    "mcm": MCMScorer,
    "neglabel": NegLabelScorer,
    "gapshift": GapShiftScorer,
}


def make_scorer(method: str, **params: Any) -> BaseScorer:
    """The scorer called ``method`` (a key of :data:`SCORERS`) with ``params``; an argument the
    scorer does not take is a :class:`ScoringError` naming it and the ones it takes."""
    try:
        cls = SCORERS[method]
    except KeyError:
        raise ScoringError(f"unknown method {method!r}; choose one of {', '.join(SCORERS)}.") from None
    allowed = cls._get_param_names()
    unknown = [k for k in params if k not in allowed]
    if unknown:
        raise ScoringError(f"{method} takes no argument {unknown[0]!r}; it takes {', '.join(allowed)}.")
    return cls(**params)
