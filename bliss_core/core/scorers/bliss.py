"""BLISS: bias-corrected language-image similarity scoring (Goodge, Hooi, Ng, BMVC 2024)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ScoringError
from ..kernels import index_dtype, resolve_backend
from .base import BaseScorer
from .checks import DEFAULT_LAMBDA, DEFAULT_TOPK, EPS, check_lambda, check_topk
from .precompute import BlissPrecomputed

__all__ = ["BlissScorer"]


class BlissScorer(BaseScorer):
    """Bias-corrected language-image similarity scoring (BLISS).

    For normal class c with reference images R_c and label embedding t_c::

        internal_c(x) = -(s(x, t_c) - mean_R s(r, t_c)) / (std_R s(r, t_c) + eps)
        external_c(x) = mean over the K dictionary entries d_j nearest to x of
                        (s(x, d_j) - mean_R s(r, d_j)) / (std_R s(r, d_j) + eps)
        score(x)      = min_c internal_c(x) + lam * external_c(x)

    The per-entry mean over R_c is ``d_j . mean(R_c)`` and the variance is ``d_j^T Cov(R_c) d_j``,
    so fitting costs one D x D covariance per class instead of an |R_c| x M product.
    ``class_text_emb`` ([classes, D], rows indexed by ``y``) and ``dict_text_emb`` ([M, D]) are
    the label and dictionary text embeddings. ``backend`` runs the heavy array work (:mod:`bliss_core.core.kernels`): ``"numpy"`` (the CPU
    path), ``"torch"`` once :mod:`bliss_core.scale.torch_backend` is imported, or a kernels object.
    """

    name = "bliss"

    def __init__(
        self,
        *,
        class_text_emb: Any = None,
        dict_text_emb: Any = None,
        lam: float = DEFAULT_LAMBDA,
        topk: int = DEFAULT_TOPK,
        eps: float = EPS,
        backend: Any = "numpy",
    ):
        self.class_text_emb = class_text_emb
        self.dict_text_emb = dict_text_emb
        self.lam = lam
        self.topk = topk
        self.eps = eps
        self.backend = backend

    def fit(self, X: Any, y: Any) -> BlissScorer:
        """Learn each normal class's label and dictionary statistics from its reference images
        ``X`` (the classes present in ``y`` are the normal classes)."""
        ref, classes = self._fit_classes(X, y)
        check_lambda(self.lam)
        if self.dict_text_emb is None:
            raise ScoringError("BLISS needs dictionary text embeddings: pass dict_text_emb=... .")
        check_topk(self.topk, len(self.dict_text_emb))
        if not (isinstance(self.eps, (int, float)) and self.eps > 0):
            raise ScoringError(f"eps must be a small positive number, got {self.eps!r}.")
        kernels = resolve_backend(self.backend)
        class_text = self._text("class_text_emb", classes)
        dict_text = self._text("dict_text_emb")
        labels = np.asarray(y).astype(np.int64)
        stats = kernels.class_stats(ref, labels, classes, class_text, dict_text, self.eps)
        self.mu_, self.sd_, self.dict_mu_, self.dict_sd_ = stats.mu, stats.sd, stats.dict_mu, stats.dict_sd
        self.classes_ = classes
        self.class_text_ = class_text[classes]
        self.dict_text_ = dict_text
        self.n_ref_ = np.array([(labels == c).sum() for c in classes])
        self.kernels_ = kernels
        return self

    def precompute(self, X: Any, max_topk: int | None = None) -> BlissPrecomputed:
        """Similarities, top-K dictionary entries and running z-score sums for test images ``X``
        (any float array; memory-mapped float16 works, read block by block)."""
        self._check_fitted()
        m = self.dict_text_.shape[0]
        kmax = check_topk(self.topk if max_topk is None else max_topk, m)
        both = getattr(self.kernels_, "top_similar_and_similarities", None)
        if both is not None:  # one pass over X instead of two
            topk_idx, topk_sim, label_sim = both(X, self.dict_text_, kmax, self.class_text_)
        else:
            topk_idx, topk_sim = self.kernels_.top_similar(X, self.dict_text_, kmax)
            label_sim = self.kernels_.similarities(X, self.class_text_)
        label_sim = np.asarray(label_sim, dtype=np.float32)
        return BlissPrecomputed(
            label_sim=label_sim,
            topk_idx=np.asarray(topk_idx).astype(index_dtype(m), copy=False),
            topk_sim=np.asarray(topk_sim, dtype=np.float32),
            n_dict=m,
            scorer=self,
        )
