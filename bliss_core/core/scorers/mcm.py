"""Maximum concept matching (Ming et al., NeurIPS 2022): minus the largest softmax over the
normal labels' similarities."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ScoringError
from .base import FixedPrecomputed
from .maxsim import LabelTextScorer

__all__ = ["MCMScorer"]


def _mcm(values: np.ndarray, pos: np.ndarray) -> np.ndarray:
    if len(pos) < 2:
        raise ScoringError("MCM needs at least two normal classes: with one, its softmax is always 1.")
    z = values[:, pos]
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return -(p.max(axis=1) / p.sum(axis=1))


class MCMScorer(LabelTextScorer):
    """Maximum concept matching: minus the largest softmax over normal-label similarities.

    Undefined for a single normal class (the softmax is always 1), so that is refused.
    """

    name = "mcm"

    def __init__(self, *, class_text_emb: Any = None, temperature: float = 1.0, backend: Any = "numpy"):
        self.class_text_emb = class_text_emb
        self.temperature = temperature
        self.backend = backend

    def fit(self, X: Any, y: Any) -> MCMScorer:
        t = self.temperature
        if not (isinstance(t, (int, float)) and np.isfinite(t) and t > 0):
            raise ScoringError("the MCM temperature must be a positive number.")
        super().fit(X, y)
        return self

    def precompute(self, X: Any, max_topk: int | None = None) -> FixedPrecomputed:
        return FixedPrecomputed(self._label_similarities(X) / float(self.temperature), _mcm, self)
