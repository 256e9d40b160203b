"""What every scorer shares: scikit-learn's estimator protocol, the one ``fit(X, y)`` contract,
the class-subset lookup and the precomputation of a baseline.

Every scorer is a :class:`sklearn.base.BaseEstimator`: ``__init__`` stores its parameters as
given (the text embeddings it needs among them) and ``fit`` checks them, so ``get_params``,
``set_params`` and :func:`sklearn.base.clone` are scikit-learn's own. ``fit(X, y)`` takes the
normal reference images ``X`` ([n, D]) and their classes ``y`` (indices into the rows of
``class_text_emb``); the classes present in ``y`` are the normal classes. What ``fit`` learns
ends in ``_``; scoring before ``fit`` raises :class:`NotFittedError`.

The sign is PyOD's, **higher = more anomalous**: scikit-learn's own outlier detectors use the
opposite sign, which is why no scorer is an ``OutlierMixin``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
from sklearn.base import BaseEstimator

from ...errors import NotFittedError, ScoringError
from ..splits import check_normal

__all__ = ["BaseScorer", "FixedPrecomputed", "Precomputed", "fitted_classes"]

#: The bundle fields a scorer's text parameters are filled from by :meth:`BaseScorer.fit_bundle`.
BUNDLE_TEXTS = ("class_text_emb", "dict_text_emb")


class Precomputed(Protocol):
    """What ``precompute`` returns: ``scores(lam, topk, classes)`` is cheap."""

    def scores(
        self, lam: float | None = None, topk: int | None = None, classes: Sequence[int] | None = None
    ) -> np.ndarray: ...


def fitted_classes(y: Any, n_ref: int) -> np.ndarray:
    """The distinct classes of ``y`` (one class per reference image, at least one image)."""
    labels = np.asarray(y)
    if labels.shape != (n_ref,):
        raise ScoringError(f"y must have one class per reference image ({n_ref}), got {labels.shape}.")
    if n_ref == 0:
        raise ScoringError("no normal reference images to fit on.")
    if not np.issubdtype(labels.dtype, np.integer):
        as_int = labels.astype(np.int64)
        if not np.array_equal(as_int, labels):
            raise ScoringError("y must hold class indices (whole numbers).")
        labels = as_int
    return np.unique(labels.astype(np.int64))


class BaseScorer(BaseEstimator):
    """Shared plumbing; subclasses implement ``fit`` and ``precompute``. Higher score = more
    anomalous."""

    name: ClassVar[str] = "base"
    classes_: np.ndarray

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y) or fit_bundle(...) first."
            )

    def _fit_classes(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(X as an array, the distinct classes of y)``; sets ``n_features_in_``."""
        ref = np.asarray(X)
        if ref.ndim != 2:
            raise ScoringError(f"X must be a 2-d array of reference embeddings, got shape {ref.shape}.")
        classes = fitted_classes(y, ref.shape[0])
        self.n_features_in_ = int(ref.shape[1])
        return ref, classes

    def _text(self, param: str, classes: np.ndarray | None = None) -> np.ndarray:
        """The unit rows of text parameter ``param`` (checked against the image dimension and,
        with ``classes``, against the class indices)."""
        from ..kernels import unit_or_error

        value = getattr(self, param)
        if value is None:
            raise ScoringError(
                f"{type(self).__name__} needs text embeddings: pass {param}=... (or use fit_bundle)."
            )
        text = unit_or_error(value)
        if text.ndim != 2 or text.shape[1] != self.n_features_in_:
            raise ScoringError("image and text embeddings have different dimensions.")
        if classes is not None and (classes.min() < 0 or classes.max() >= text.shape[0]):
            raise ScoringError(f"normal class {int(classes.max())} has no label embedding.")
        return text

    def fit(self, X: Any, y: Any) -> BaseScorer:
        raise NotImplementedError

    def fit_bundle(self, bundle: Any, normal: Sequence[int]) -> BaseScorer:
        """Fit on the bundle's training images of the ``normal`` classes (checked by
        :func:`~bliss_core.core.splits.check_normal`), with the bundle's text embeddings as the
        text parameters (``set_params``: they replace any given before)."""
        normal = check_normal(bundle, normal, allow_all_normal=True)
        names = self.get_params(deep=False)
        self.set_params(**{k: getattr(bundle, k) for k in BUNDLE_TEXTS if k in names})
        mask = bundle.image_is_train & np.isin(bundle.image_label, normal)
        return self.fit(bundle.image_emb[mask], bundle.image_label[mask])

    def precompute(self, X: Any, max_topk: int | None = None) -> Precomputed:
        raise NotImplementedError

    def decision_function(self, X: Any, classes: Sequence[int] | None = None) -> np.ndarray:
        """Anomaly score of each row of ``X`` (higher = more anomalous)."""
        self._check_fitted()
        return self.precompute(X).scores(classes=classes)

    def _positions(self, classes: Sequence[int] | None) -> np.ndarray:
        """Column positions of ``classes`` among the fitted classes (all when None)."""
        if classes is None:
            return np.arange(len(self.classes_))
        wanted = [int(c) for c in classes]
        if len(wanted) == 0:
            raise ScoringError("choose at least one normal class.")
        lookup = {int(c): i for i, c in enumerate(self.classes_)}
        missing = [c for c in wanted if c not in lookup]
        if missing:
            raise ScoringError(
                f"class {missing[0]} has no fitted normal reference images (fitted classes: {sorted(lookup)})."
            )
        return np.array([lookup[c] for c in wanted], dtype=np.int64)


@dataclass
class FixedPrecomputed:
    """Precomputed per-class quantities of a baseline; lambda and K are ignored.

    ``reduce(values, positions)`` turns them into scores for the fitted classes at ``positions``.
    """

    per_class_values: Any  # [N, C] or [C, N, k], or whatever ``reduce`` reads
    reduce: Callable[[Any, np.ndarray], np.ndarray]
    scorer: BaseScorer

    def scores(
        self, lam: float | None = None, topk: int | None = None, classes: Sequence[int] | None = None
    ) -> np.ndarray:
        return self.reduce(self.per_class_values, self.scorer._positions(classes))
