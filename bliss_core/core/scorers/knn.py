"""The image-only baseline: mean cosine distance to the nearest normal reference images."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels import resolve_backend, unit_or_error
from .base import BaseScorer, FixedPrecomputed
from .checks import check_whole

__all__ = ["KNNScorer"]


class KNNScorer(BaseScorer):
    """Mean cosine distance to the ``k`` nearest normal reference images (uses no text)."""

    name = "knn"

    def __init__(self, *, k: int = 5, backend: Any = "numpy"):
        self.k = k
        self.backend = backend

    def fit(self, X: Any, y: Any) -> KNNScorer:
        check_whole(self.k, "k")
        ref, classes = self._fit_classes(X, y)
        self.kernels_ = resolve_backend(self.backend)
        labels = np.asarray(y)
        self.refs_ = [unit_or_error(ref[labels == c]) for c in classes]
        self.classes_ = classes
        return self

    def precompute(self, X: Any, max_topk: int | None = None) -> FixedPrecomputed:
        self._check_fitted()
        k = int(self.k)
        # Per class: the k largest similarities of each test image, so any union of classes
        # can be answered by merging these lists.
        best = np.full((len(self.refs_), X.shape[0], k), -np.inf)
        for ci, r in enumerate(self.refs_):
            sims = self.kernels_.nearest(X, r, k)
            best[ci, :, : sims.shape[1]] = sims

        def reduce(v: np.ndarray, pos: np.ndarray) -> np.ndarray:
            merged = np.concatenate(list(v[pos]), axis=1)
            kk = min(k, int(np.isfinite(merged[0]).sum()))
            top = np.partition(merged, merged.shape[1] - kk, axis=1)[:, -kk:]
            return (1.0 - top).mean(axis=1)

        return FixedPrecomputed(best, reduce, self)
