"""BLISS's precomputation: everything about a test set that does not depend on lambda, K or the
class subset, so that an ablation grid or a slider move costs a slice, a min and the metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ScoringError
from ..kernels import row_blocks
from .checks import check_lambda, check_topk

if TYPE_CHECKING:
    from .bliss import BlissScorer

__all__ = ["ALL_K_FLOAT64_BYTES", "DENSE_BYTES", "BlissPrecomputed"]

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
        self._all_k(dtype)
        return self

    def _all_k(self, dtype: Any = None) -> np.ndarray:
        """The running sums of :meth:`prepare_all_k`, built on first use."""
        if self._cumsum is not None:
            return self._cumsum
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
        return cs

    @property
    def ext_cumsum(self) -> np.ndarray:
        """[C, N, L] running sums over each image's most similar entries of the z-scored
        similarities, so external(K) = ext_cumsum[..., K-1] / K (built on first use)."""
        return self._all_k()

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
