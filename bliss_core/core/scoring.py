"""BLISS and baseline anomaly scorers with a fit-then-score contract.

Every scorer follows the scikit-learn / PyOD shape::

    scorer = BlissScorer(lam=0.5, topk=10).fit(ref_emb, ref_labels, class_text_emb, dict_text_emb)
    scores = scorer.decision_function(test_emb)      # higher = more anomalous

``fit`` learns per-class statistics from the normal reference images (the classes present in
``ref_labels`` are the normal classes). ``precompute(X)`` does all the work on a test set that
does not depend on the score's knobs and returns an object whose ``scores(lam, topk, classes)``
is cheap: that is what ablation grids and the app's sliders call. ``classes`` picks a subset of
the fitted normal classes, so one fit on the union of several splits serves them all.

The conventions are scikit-learn's: parameters are stored by ``__init__`` as given and
checked by ``fit``; what ``fit`` learns ends in ``_``; ``get_params``/``set_params`` work; and
``precompute``/``decision_function`` before ``fit`` raise :class:`NotFittedError`. The sign is
PyOD's: **higher = more anomalous** (scikit-learn's own outlier detectors use the opposite).

All embeddings are assumed L2-normalised (bundles are normalised on load; ``fit`` and
``precompute`` normalise their inputs again, which is cheap and makes scores scale-invariant).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import NotFittedError, ScoringError
from .kernels import index_dtype, resolve_backend, row_blocks, unit_or_error
from .splits import check_normal

__all__ = [
    "DENSE_BYTES",
    "EPS",
    "SCORERS",
    "BaseScorer",
    "BlissPrecomputed",
    "BlissScorer",
    "KNNScorer",
    "MCMScorer",
    "MaxSimScorer",
    "NotFittedError",
    "ScoringError",
    "check_lambda",
    "check_topk",
    "make_scorer",
]

EPS = 1e-8
#: The published script's defaults; the CLI and the app start from them.
DEFAULT_LAMBDA = 0.5
DEFAULT_TOPK = 10


def check_lambda(lam: float) -> float:
    """``lam`` as a float, or :class:`ScoringError` unless it is finite and >= 0."""
    try:
        lam = float(lam)
    except (TypeError, ValueError, OverflowError):
        raise ScoringError(f"lambda must be a number, got {lam!r}.") from None
    if not np.isfinite(lam) or lam < 0:
        raise ScoringError(f"lambda must be a finite number >= 0, got {lam}.")
    return lam


def check_topk(topk: float, n_entries: int | None = None) -> int:
    """``topk`` as an int, or :class:`ScoringError` unless it is a whole number in 1..n_entries."""
    try:
        ok = float(topk) == int(topk) and int(topk) >= 1
    except (TypeError, ValueError, OverflowError):  # inf, nan, 1e400, text
        ok = False
    if not ok:
        raise ScoringError(f"K must be a whole number >= 1, got {topk}.")
    if n_entries is not None and int(topk) > n_entries:
        raise ScoringError(f"K={int(topk)} is larger than the dictionary, which has {n_entries} entries.")
    return int(topk)


class _ClassSubsetMixin:
    classes_: np.ndarray

    def _positions(self, classes: Sequence[int] | None) -> np.ndarray:
        """Column positions of ``classes`` among the fitted classes (all when None)."""
        if classes is None:
            return np.arange(len(self.classes_))
        classes = [int(c) for c in classes]
        if len(classes) == 0:
            raise ScoringError("choose at least one normal class.")
        lookup = {int(c): i for i, c in enumerate(self.classes_)}
        missing = [c for c in classes if c not in lookup]
        if missing:
            raise ScoringError(
                f"class {missing[0]} has no fitted normal reference images (fitted classes: {sorted(lookup)})."
            )
        return np.array([lookup[c] for c in classes], dtype=np.int64)


class BaseScorer(_ClassSubsetMixin):
    """Shared fit plumbing. Subclasses implement ``fit`` and ``precompute``; higher score =
    more anomalous."""

    name = "base"

    # -- scikit-learn's parameter protocol ---------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name for p in sig.parameters.values() if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters, as scikit-learn estimators report them."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> BaseScorer:
        """Change constructor parameters; they are checked by the next ``fit``."""
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ScoringError(
                    f"{type(self).__name__} has no parameter {key!r}; it has {', '.join(valid)}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(...) or fit_bundle(...) first."
            )

    def fit(
        self,
        ref_emb: np.ndarray,
        ref_labels: np.ndarray,
        class_text_emb: np.ndarray,
        dict_text_emb: np.ndarray | None = None,
    ) -> BaseScorer:
        raise NotImplementedError

    def fit_bundle(self, bundle, normal: Sequence[int]) -> BaseScorer:
        """Fit on the bundle's training images of the ``normal`` classes (checked by
        :func:`~bliss_core.core.splits.check_normal`)."""
        normal = check_normal(bundle, normal, allow_all_normal=True)
        mask = bundle.image_is_train & np.isin(bundle.image_label, normal)
        return self.fit(
            bundle.image_emb[mask], bundle.image_label[mask], bundle.class_text_emb, bundle.dict_text_emb
        )

    def precompute(self, X: np.ndarray, max_topk: int | None = None):
        raise NotImplementedError

    def decision_function(self, X: np.ndarray, classes: Sequence[int] | None = None) -> np.ndarray:
        """Anomaly score of each row of ``X`` (higher = more anomalous)."""
        self._check_fitted()
        return self.precompute(X).scores(classes=classes)


def _fitted_classes(ref_labels: np.ndarray, n_ref: int) -> np.ndarray:
    labels = np.asarray(ref_labels, dtype=np.int64)
    if labels.shape != (n_ref,):
        raise ScoringError(
            f"ref_labels must have one label per reference image ({n_ref}), got {labels.shape}."
        )
    if n_ref == 0:
        raise ScoringError("no normal reference images to fit on.")
    return np.unique(labels)


# ------------------------------------------------------------------------------------------
# BLISS
# ------------------------------------------------------------------------------------------


#: A precomputation keeps running z-score sums for every K ([C, N, L] float64, what makes any
#: (lambda, K) a slice) when they take at most this; beyond it (a million test images), the
#: external score of one K is summed on demand in blocks of rows, and only the last one is kept.
DENSE_BYTES = 64 * 1024**2
#: :meth:`BlissPrecomputed.prepare_all_k` keeps the running sums in float64 up to this size and
#: in float32 beyond it (half the memory; scores then agree with float64 to about 1e-6).
ALL_K_FLOAT64_BYTES = 64 * 1024**2


@dataclass(eq=False)
class BlissPrecomputed:
    """Everything about a test set that does not depend on lambda, K or the class subset.

    ``label_sim``: [N, C] similarities to each fitted class's label (float32; the internal
    scores are computed from them in float64 when asked for, see :attr:`internal`).
    ``topk_idx`` / ``topk_sim``: each image's L most similar dictionary entries, most similar
    first, and their similarities ([N, L], int32 and float32).
    ``n_dict``: the entries the external score may draw on (the dictionary less any excluded).

    The external score for K is the mean of the first K z-scored similarities. Per image this
    is N x (C + 2L) numbers, so a million test images fit beside their embeddings; the sums
    for a K are made in blocks of rows when first asked for (and the last one is kept), or
    read from running sums over every K once :meth:`prepare_all_k` has built them (the app's
    sliders; done automatically when they take at most :data:`DENSE_BYTES`).
    """

    label_sim: np.ndarray
    topk_idx: np.ndarray
    topk_sim: np.ndarray
    n_dict: int
    scorer: BlissScorer

    def __post_init__(self) -> None:
        self._cumsum: np.ndarray | None = None
        self._last: tuple[tuple[int, bytes], np.ndarray] | None = None

    @property
    def max_topk(self) -> int:
        return int(self.topk_idx.shape[1])

    @property
    def n_images(self) -> int:
        return int(self.topk_idx.shape[0])

    @property
    def internal(self) -> np.ndarray:
        """[N, C] internal scores for each fitted class (float64)."""
        return self._internal(np.arange(len(self.scorer.classes_)))

    def _internal(self, pos: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
        st = self.scorer
        return -(self.label_sim[rows, pos].astype(np.float64) - st.mu_[pos][None, :]) / st.sd_[pos][None, :]

    def _z(self, rows: slice, topk: int, pos: np.ndarray) -> np.ndarray:
        """[len(pos), rows, topk] z-scored similarities of ``rows``' first ``topk`` entries."""
        st = self.scorer
        idx = self.topk_idx[rows, :topk]
        sim = self.topk_sim[rows, :topk].astype(np.float64)
        return (sim[None, :, :] - st.dict_mu_[pos][:, idx]) / st.dict_sd_[pos][:, idx]

    def prepare_all_k(self, dtype: Any = None) -> BlissPrecomputed:
        """Build the running sums over every K ([C, N, L], :attr:`ext_cumsum`) so that any
        (lambda, K, classes) is a slice: what a slider wants. ``dtype`` defaults to float64 up
        to :data:`ALL_K_FLOAT64_BYTES`, float32 beyond. Returns self."""
        if self._cumsum is None:
            n_c = len(self.scorer.classes_)
            n, width = self.topk_idx.shape
            if dtype is None:
                dtype = np.float64 if n_c * n * width * 8 <= ALL_K_FLOAT64_BYTES else np.float32
            cs = np.empty((n_c, n, width), dtype=dtype)
            pos = np.arange(n_c)
            for blk in row_blocks(n, n_c * width, 8):
                cs[:, blk, :] = np.cumsum(self._z(blk, width, pos), axis=2)
            self._cumsum = cs
            self._last = None
        return self

    @property
    def ext_cumsum(self) -> np.ndarray:
        """[C, N, L] running sums over each image's most similar entries of the z-scored
        similarities, so external(K) = ext_cumsum[..., K-1] / K (built on first use)."""
        return self.prepare_all_k()._cumsum

    def _ext_sum(self, topk: int, pos: np.ndarray) -> np.ndarray:
        """[N, len(pos)] sums of each image's first ``topk`` z-scores (float64 unless the
        running sums were built in float32)."""
        if self._cumsum is None and len(self.scorer.classes_) * self.topk_idx.size * 8 <= DENSE_BYTES:
            self.prepare_all_k(np.float64)
        if self._cumsum is not None:
            return self._cumsum[pos, :, topk - 1].T
        key = (topk, pos.tobytes())
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        self._last = None  # let the previous one go before making the next
        n = self.n_images
        out = np.empty((n, len(pos)))
        for blk in row_blocks(n, len(pos) * topk, 8):
            # a running sum, exactly as the [C, N, L] sums take it (same numbers either way)
            out[blk] = np.cumsum(self._z(blk, topk, pos), axis=2)[:, :, -1].T
        self._last = (key, out)
        return out

    def _check(self, lam: float, topk: int) -> tuple[float, int]:
        lam = check_lambda(lam)
        topk = check_topk(topk, self.n_dict)
        if topk > self.max_topk:
            raise ScoringError(f"K={topk} exceeds the K={self.max_topk} this test set was prepared for.")
        return lam, topk

    def excluding(self, entries: Sequence[int] | set[int], max_topk: int | None = None) -> BlissPrecomputed:
        """The same test set with dictionary ``entries`` left out of the external score (call it
        on the full precomputation, not on one that already excludes entries).

        Each image's top list then continues with its next most similar entries; prepare with
        ``max_topk`` at least K plus the number of excluded entries so that every image keeps K.
        Entries' statistics do not depend on each other, so this equals scoring with those
        dictionary rows removed.
        """
        drop = np.fromiter((int(e) for e in entries), dtype=np.int64)
        if drop.size == 0:
            return self
        n, width_all = self.topk_idx.shape
        kept = np.empty(n, dtype=np.int64)
        for blk in row_blocks(n, width_all, 8):
            kept[blk] = (~np.isin(self.topk_idx[blk], drop)).sum(axis=1)
        width = int(kept.min()) if n else 0
        if max_topk is not None:
            width = min(width, int(max_topk))
        if width < 1:
            raise ScoringError("no dictionary entries are left after the exclusion.")
        idx = np.empty((n, width), dtype=self.topk_idx.dtype)
        sim = np.empty((n, width), dtype=self.topk_sim.dtype)
        for blk in row_blocks(n, width_all, 8):
            # stable: the kept entries of each row, in their order, first
            order = np.argsort(np.isin(self.topk_idx[blk], drop), axis=1, kind="stable")[:, :width]
            idx[blk] = np.take_along_axis(self.topk_idx[blk], order, axis=1)
            sim[blk] = np.take_along_axis(self.topk_sim[blk], order, axis=1)
        st = self.scorer
        n_all = st.dict_text_.shape[0]
        n_left = n_all - int(np.unique(drop[(drop >= 0) & (drop < n_all)]).size)
        return BlissPrecomputed(self.label_sim, idx, sim, n_left, st)

    def external(self, topk: int, classes: Sequence[int] | None = None) -> np.ndarray:
        """[N, len(classes)] external scores."""
        _, topk = self._check(0.0, topk)
        pos = self.scorer._positions(classes)
        return self._ext_sum(topk, pos) / topk

    def per_class(self, lam: float, topk: int, classes: Sequence[int] | None = None) -> np.ndarray:
        """[N, len(classes)] BLISS score for each normal class."""
        lam, topk = self._check(lam, topk)
        pos = self.scorer._positions(classes)
        out = self._internal(pos)
        if lam:
            out = out + (lam / topk) * self._ext_sum(topk, pos)
        return out

    def scores(
        self, lam: float | None = None, topk: int | None = None, classes: Sequence[int] | None = None
    ) -> np.ndarray:
        """BLISS anomaly score: min over the normal classes of internal + lam * external
        (taken in blocks of rows, so no [N, C] temporaries beyond the external sums)."""
        lam = self.scorer.lam if lam is None else lam
        topk = self.scorer.topk if topk is None else topk
        lam, topk = self._check(lam, topk)
        pos = self.scorer._positions(classes)
        ext = self._ext_sum(topk, pos) if lam else None
        out = np.empty(self.n_images)
        for blk in row_blocks(self.n_images, len(pos), 8):
            v = self._internal(pos, blk)
            if ext is not None:
                v = v + (lam / topk) * ext[blk]
            out[blk] = v.min(axis=1)
        return out

    def components(
        self, lam: float | None = None, topk: int | None = None, classes: Sequence[int] | None = None
    ) -> dict[str, np.ndarray]:
        """Score, and the internal/external parts and class index of the minimising class."""
        lam = self.scorer.lam if lam is None else lam
        topk = self.scorer.topk if topk is None else topk
        lam, topk = self._check(lam, topk)
        pos = self.scorer._positions(classes)
        internal, ext_sum = self._internal(pos), self._ext_sum(topk, pos)
        per = internal + (lam / topk) * ext_sum if lam else internal  # as per_class, from the same parts
        arg = per.argmin(axis=1)
        rows = np.arange(per.shape[0])
        return {
            "score": per[rows, arg],
            "internal": internal[rows, arg],
            "external": (ext_sum / topk)[rows, arg],
            "nearest_class": self.scorer.classes_[pos][arg],
        }


class BlissScorer(BaseScorer):
    """Bias-corrected language-image similarity scoring (BLISS).

    For normal class c with reference images R_c and label embedding t_c::

        internal_c(x) = -(s(x, t_c) - mean_R s(r, t_c)) / (std_R s(r, t_c) + eps)
        external_c(x) = mean over the K dictionary entries d_j nearest to x of
                        (s(x, d_j) - mean_R s(r, d_j)) / (std_R s(r, d_j) + eps)
        score(x)      = min_c internal_c(x) + lam * external_c(x)

    The per-entry mean over R_c is ``d_j . mean(R_c)`` and the variance is ``d_j^T Cov(R_c) d_j``,
    so fitting costs one D x D covariance per class instead of an |R_c| x M product.
    ``backend`` runs the heavy array work (:mod:`bliss_core.core.kernels`): ``"numpy"`` (the CPU
    path), ``"torch"`` once :mod:`bliss_core.scale.torch_backend` is imported, or a kernels object.
    """

    name = "bliss"

    def __init__(
        self, lam: float = DEFAULT_LAMBDA, topk: int = DEFAULT_TOPK, eps: float = EPS, backend: Any = "numpy"
    ):
        self.lam = lam
        self.topk = topk
        self.eps = eps
        self.backend = backend

    def fit(self, ref_emb, ref_labels, class_text_emb, dict_text_emb=None) -> BlissScorer:
        """Learn each normal class's label and dictionary statistics from its reference images
        (the classes present in ``ref_labels`` are the normal classes)."""
        if dict_text_emb is None:
            raise ScoringError("BLISS needs dictionary text embeddings.")
        check_lambda(self.lam)
        check_topk(self.topk, len(dict_text_emb))
        if not (isinstance(self.eps, (int, float)) and self.eps > 0):
            raise ScoringError(f"eps must be a small positive number, got {self.eps!r}.")
        kernels = resolve_backend(self.backend)
        ref = np.asarray(ref_emb)
        classes = _fitted_classes(ref_labels, ref.shape[0])
        labels = np.asarray(ref_labels, dtype=np.int64)
        class_text = unit_or_error(class_text_emb)
        dict_text = unit_or_error(dict_text_emb)
        if class_text.shape[1] != ref.shape[1] or dict_text.shape[1] != ref.shape[1]:
            raise ScoringError("image and text embeddings have different dimensions.")
        if classes.max() >= class_text.shape[0]:
            raise ScoringError(f"normal class {int(classes.max())} has no label embedding.")
        stats = kernels.class_stats(ref, labels, classes, class_text, dict_text, self.eps)
        self.mu_, self.sd_, self.dict_mu_, self.dict_sd_ = stats.mu, stats.sd, stats.dict_mu, stats.dict_sd
        self.classes_ = classes
        self.class_text_ = class_text[classes]
        self.dict_text_ = dict_text
        self.n_ref_ = np.array([(labels == c).sum() for c in classes])
        self.kernels_ = kernels
        return self

    def precompute(self, X: np.ndarray, max_topk: int | None = None) -> BlissPrecomputed:
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


# ------------------------------------------------------------------------------------------
# Baselines
# ------------------------------------------------------------------------------------------


@dataclass
class FixedPrecomputed:
    """Precomputed per-class quantities of a baseline; lambda and K are ignored."""

    per_class_values: np.ndarray  # [N, C] or [C, N, k] depending on the scorer
    reduce: object
    scorer: BaseScorer

    def scores(
        self, lam: float | None = None, topk: int | None = None, classes: Sequence[int] | None = None
    ) -> np.ndarray:
        return self.reduce(self.per_class_values, self.scorer._positions(classes))


class _LabelTextScorer(BaseScorer):
    """A scorer that needs only the normal labels' text embeddings (and which classes have
    reference images): fitting keeps those, the kernels and the class list."""

    def fit(self, ref_emb, ref_labels, class_text_emb, dict_text_emb=None):
        self.kernels_ = resolve_backend(self.backend)
        self.classes_ = _fitted_classes(ref_labels, len(ref_labels))
        self.class_text_ = unit_or_error(class_text_emb)[self.classes_]
        return self


class MaxSimScorer(_LabelTextScorer):
    """Plain CLIP zero-shot score: minus the highest similarity to any normal label."""

    name = "maxsim"

    def __init__(self, backend: Any = "numpy"):
        self.backend = backend

    def precompute(self, X, max_topk=None) -> FixedPrecomputed:
        self._check_fitted()
        sims = self.kernels_.similarities(X, self.class_text_)
        return FixedPrecomputed(sims, lambda v, pos: -v[:, pos].max(axis=1), self)


class MCMScorer(_LabelTextScorer):
    """Maximum concept matching: minus the largest softmax over normal-label similarities.

    Undefined for a single normal class (the softmax is always 1), so that is refused.
    """

    name = "mcm"

    def __init__(self, temperature: float = 1.0, backend: Any = "numpy"):
        self.temperature = temperature
        self.backend = backend

    def fit(self, ref_emb, ref_labels, class_text_emb, dict_text_emb=None) -> MCMScorer:
        if not (
            isinstance(self.temperature, (int, float))
            and np.isfinite(self.temperature)
            and self.temperature > 0
        ):
            raise ScoringError("the MCM temperature must be a positive number.")
        return super().fit(ref_emb, ref_labels, class_text_emb, dict_text_emb)

    def precompute(self, X, max_topk=None) -> FixedPrecomputed:
        self._check_fitted()
        sims = self.kernels_.similarities(X, self.class_text_) / float(self.temperature)

        def reduce(v, pos):
            if len(pos) < 2:
                raise ScoringError(
                    "MCM needs at least two normal classes: with one, its softmax is always 1."
                )
            z = v[:, pos]
            z = z - z.max(axis=1, keepdims=True)
            p = np.exp(z)
            return -(p.max(axis=1) / p.sum(axis=1))

        return FixedPrecomputed(sims, reduce, self)


class KNNScorer(BaseScorer):
    """Mean cosine distance to the ``k`` nearest normal reference images (image-only baseline)."""

    name = "knn"

    def __init__(self, k: int = 5, backend: Any = "numpy"):
        self.k = k
        self.backend = backend

    def fit(self, ref_emb, ref_labels, class_text_emb=None, dict_text_emb=None) -> KNNScorer:
        try:
            ok = int(self.k) == self.k and self.k >= 1
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise ScoringError(f"k must be a whole number >= 1, got {self.k!r}.")
        self.kernels_ = resolve_backend(self.backend)
        ref = np.asarray(ref_emb)
        self.classes_ = _fitted_classes(ref_labels, ref.shape[0])
        labels = np.asarray(ref_labels)
        self.refs_ = [unit_or_error(ref[labels == c]) for c in self.classes_]
        return self

    def precompute(self, X, max_topk=None) -> FixedPrecomputed:
        self._check_fitted()
        k = int(self.k)
        # Per class: the k largest similarities of each test image, so any union of classes
        # can be answered by merging these lists.
        best = np.full((len(self.refs_), X.shape[0], k), -np.inf)
        for ci, r in enumerate(self.refs_):
            sims = self.kernels_.nearest(X, r, k)
            best[ci, :, : sims.shape[1]] = sims

        def reduce(v, pos):
            merged = np.concatenate(list(v[pos]), axis=1)
            kk = min(k, int(np.isfinite(merged[0]).sum()))
            top = np.partition(merged, merged.shape[1] - kk, axis=1)[:, -kk:]
            return (1.0 - top).mean(axis=1)

        return FixedPrecomputed(best, reduce, self)


SCORERS = {"bliss": BlissScorer, "maxsim": MaxSimScorer, "knn": KNNScorer, "mcm": MCMScorer}


def make_scorer(method: str, **kwargs) -> BaseScorer:
    """Build a scorer by name: ``bliss``, ``maxsim``, ``knn`` or ``mcm``."""
    try:
        cls = SCORERS[method]
    except KeyError:
        raise ScoringError(f"unknown method {method!r}; choose one of {', '.join(SCORERS)}.") from None
    accepted = cls._param_names()
    return cls(**{k: v for k, v in kwargs.items() if k in accepted})
