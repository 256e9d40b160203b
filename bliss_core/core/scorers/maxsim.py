"""CLIP's zero-shot score: minus the highest similarity to any normal label."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels import resolve_backend
from .base import BaseScorer, FixedPrecomputed

__all__ = ["LabelTextScorer", "MaxSimScorer"]


class LabelTextScorer(BaseScorer):
    """A scorer that needs only the normal labels' text embeddings (and which classes have
    reference images): fitting keeps those, the kernels and the class list."""

    class_text_emb: Any
    backend: Any

    def fit(self, X: Any, y: Any) -> LabelTextScorer:
        _, classes = self._fit_classes(X, y)
        self.kernels_ = resolve_backend(self.backend)
        self.class_text_ = self._text("class_text_emb", classes)[classes]
        self.classes_ = classes
        return self

    def _label_similarities(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return self.kernels_.similarities(X, self.class_text_)


class MaxSimScorer(LabelTextScorer):
    """Plain CLIP zero-shot score: minus the highest similarity to any normal label."""

    name = "maxsim"

    def __init__(self, *, class_text_emb: Any = None, backend: Any = "numpy"):
        self.class_text_emb = class_text_emb
        self.backend = backend

    def precompute(self, X: Any, max_topk: int | None = None) -> FixedPrecomputed:
        return FixedPrecomputed(self._label_similarities(X), lambda v, pos: -v[:, pos].max(axis=1), self)
