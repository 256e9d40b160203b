"""The heavy array work of scoring, behind one small interface so that it can run elsewhere.

Scorers ask a *kernels* object for four things: per-class statistics of the reference images
(label and dictionary similarity means and standard deviations), each test image's top-K most
similar dictionary entries, similarities to a few label texts, and each test image's nearest
reference images. :class:`NumpyKernels` is the CPU path (numpy's BLAS, in row blocks, so that
no test x dictionary matrix is ever whole in memory); :mod:`bliss_core.scale.torch_backend`
registers a torch implementation (GPU when there is one) under the name ``"torch"``.

Inputs may be any float array, memory-mapped float16 included: rows are converted and
normalised block by block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..errors import ScoringError, VectorError
from .vectors import unit_rows

__all__ = [
    "BACKENDS",
    "ClassStats",
    "Kernels",
    "NumpyKernels",
    "RowSubset",
    "covariance_factor",
    "index_dtype",
    "quadratic_forms",
    "register_backend",
    "resolve_backend",
    "row_blocks",
    "take_rows",
    "top_k_rows",
]

#: Rows per block are chosen so that a block's similarity matrix stays under this many bytes
#: (float32): big enough for BLAS to run near its peak (a few hundred rows against tens of
#: thousands of entries), small enough that the working set does not grow with the test set.
BLOCK_BYTES = 64 * 1024**2
#: Rows per ``argpartition`` call: its int64 index array stays under this many bytes.
PARTITION_BYTES = 16 * 1024**2


@dataclass
class ClassStats:
    """What BLISS learns per normal class: label-similarity mean/std and per-entry dictionary
    similarity means/stds (``[C]``, ``[C]``, ``[C, M]``, ``[C, M]``, float64)."""

    mu: np.ndarray
    sd: np.ndarray
    dict_mu: np.ndarray
    dict_sd: np.ndarray


class Kernels(Protocol):
    name: str

    def class_stats(
        self,
        ref: np.ndarray,
        labels: np.ndarray,
        classes: np.ndarray,
        class_text: np.ndarray,
        dict_text: np.ndarray,
        eps: float,
    ) -> ClassStats: ...

    def top_similar(self, X: np.ndarray, texts: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def similarities(self, X: np.ndarray, texts: np.ndarray) -> np.ndarray: ...

    # optional: ``top_similar_and_similarities(X, texts, k, others) -> (idx, sim, other_sims)``,
    # both in one pass over X (BlissScorer.precompute uses it when a backend has it)

    def nearest(self, X: np.ndarray, ref: np.ndarray, k: int) -> np.ndarray: ...


def unit_or_error(x: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """Rows of unit length for scoring; a zero or non-finite row is a :class:`ScoringError`."""
    try:
        return unit_rows(np.asarray(x), dtype=dtype)
    except VectorError:
        raise ScoringError(
            "an embedding has zero length or non-finite values and cannot be scored."
        ) from None


def row_blocks(n: int, width: int, bytes_per: int = 4, budget: int | None = None) -> Iterator[slice]:
    """Slices of ``range(n)`` whose ``rows x width`` blocks of ``bytes_per`` stay under ``budget``
    (:data:`BLOCK_BYTES` by default)."""
    budget = BLOCK_BYTES if budget is None else budget
    step = max(1, min(max(n, 1), budget // max(1, bytes_per * width)))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def index_dtype(m: int) -> type:
    """The narrowest of int32/int64 that indexes ``m`` entries (top-K lists are kept per image,
    so a million images x 50 entries is 200 MB in int32 instead of 400 MB)."""
    return np.int32 if m < 2**31 else np.int64


def top_k_rows(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(idx, sim)`` of each row's ``k`` largest values, largest first (ties: lower position
    first among the partition's picks). ``argpartition`` runs on sub-blocks of rows so that its
    int64 index array stays under :data:`PARTITION_BYTES`."""
    n, m = sims.shape
    idx = np.empty((n, k), dtype=index_dtype(m))
    out = np.empty((n, k), dtype=sims.dtype)
    for blk in row_blocks(n, m, 8, PARTITION_BYTES):
        part = sims[blk]
        if k < m:
            p = np.argpartition(part, m - k, axis=1)[:, m - k :]
        else:
            p = np.broadcast_to(np.arange(m), part.shape)
        s = np.take_along_axis(part, p, axis=1)
        order = np.argsort(-s, axis=1, kind="stable")
        idx[blk] = np.take_along_axis(p, order, axis=1)
        out[blk] = np.take_along_axis(s, order, axis=1)
    return idx, out


def covariance_factor(centred: np.ndarray) -> np.ndarray:
    """A float32 ``[D, r]`` matrix F with ``F @ F.T`` = the covariance of the (centred, float32)
    rows, so that the variance of each dictionary entry d, ``d^T Cov d``, is ``|d @ F|^2``: a sum
    of squares, which cannot cancel, computed with one float32 product (r = min(n, D)).

    With fewer rows than dimensions F is the centred rows themselves (scaled); otherwise it is
    the Cholesky factor of the covariance taken in float64 (eigenvalues clipped at 0 when
    rounding leaves it not quite positive definite)."""
    n, d = centred.shape
    if n <= d:
        return (centred.T / np.float32(np.sqrt(n))).astype(np.float32)
    cov = (centred.T @ centred).astype(np.float64)
    cov /= n
    try:
        factor = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(cov)
        factor = v * np.sqrt(np.maximum(w, 0.0))
    return factor.astype(np.float32)


def quadratic_forms(rows: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """``|row @ factor|^2`` for every row (float64 sums of float32 products, in row blocks)."""
    out = np.empty(rows.shape[0], dtype=np.float64)
    for blk in row_blocks(rows.shape[0], factor.shape[1]):
        p = rows[blk] @ factor
        out[blk] = np.einsum("mr,mr->m", p, p, dtype=np.float64)
    return out


class RowSubset:
    """Some rows of a 2-D array, read only when a block of them is asked for.

    What the kernels need of their inputs is ``shape`` and ``X[start:stop]``; this gives both
    for (say) the test rows of a memory-mapped bundle without copying them all first.
    """

    ndim = 2

    def __init__(self, base: Any, rows: np.ndarray) -> None:
        self.base = base
        self.rows = np.asarray(rows, dtype=np.int64)

    @property
    def shape(self) -> tuple[int, ...]:
        return (int(self.rows.size), *self.base.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.base.dtype

    def __len__(self) -> int:
        return int(self.rows.size)

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.asarray(self.base[self.rows[key]])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.asarray(self.base[self.rows])
        return out if dtype is None else out.astype(dtype)


def take_rows(arr: Any, rows: np.ndarray) -> Any:
    """Rows of ``arr`` (a bool mask or sorted indices) for the kernels, without a copy: a slice
    view when they are one contiguous run (a bundle's test images usually are), else a
    :class:`RowSubset`."""
    rows = np.asarray(rows)
    if rows.dtype == np.bool_:
        rows = np.flatnonzero(rows)
    if rows.size and rows[-1] - rows[0] + 1 == rows.size and np.all(np.diff(rows) == 1):
        return arr[int(rows[0]) : int(rows[-1]) + 1]
    return RowSubset(arr, rows)


class NumpyKernels:
    """The CPU path: numpy in row blocks (the reference all other backends are tested against)."""

    name = "numpy"

    def class_stats(self, ref, labels, classes, class_text, dict_text, eps) -> ClassStats:
        labels = np.asarray(labels)
        class_text = unit_or_error(class_text)
        dict32 = unit_or_error(dict_text)
        n_c, m = len(classes), dict32.shape[0]
        mu, sd = np.empty(n_c), np.empty(n_c)
        means = np.empty((n_c, dict32.shape[1]))
        dict_sd = np.empty((n_c, m))
        for i, c in enumerate(classes):
            r = unit_or_error(np.asarray(ref)[labels == c])
            mean = r.mean(axis=0, dtype=np.float64)
            means[i] = mean
            # Centre in float32 (entries are ~1e-2, so nothing is lost); each entry's variance
            # d^T Cov d is then a sum of squares of float32 products with a factor of Cov.
            centred = r - mean.astype(np.float32)
            s = (centred @ class_text[c]).astype(np.float64) + mean @ class_text[c].astype(np.float64)
            mu[i] = s.mean()
            sd[i] = s.std() + eps
            var = quadratic_forms(dict32, covariance_factor(centred))
            dict_sd[i] = np.sqrt(var) + eps
        return ClassStats(mu=mu, sd=sd, dict_mu=means @ dict32.T.astype(np.float64), dict_sd=dict_sd)

    def top_similar(self, X, texts, k):
        """``(idx, sim)``: each row's ``k`` most similar texts, most similar first ([N, k]; int32
        indices (int64 beyond 2^31 texts) and float32 similarities). Blocks of rows keep the
        similarity matrix small; ``X`` may be memory-mapped (read block by block)."""
        texts = unit_or_error(texts)
        m = texts.shape[0]
        n = X.shape[0]
        idx = np.empty((n, k), dtype=index_dtype(m))
        sim = np.empty((n, k), dtype=np.float32)
        tt = texts.T
        for blk in row_blocks(n, m):
            idx[blk], sim[blk] = top_k_rows(unit_or_error(X[blk]) @ tt, k)
        return idx, sim

    def top_similar_and_similarities(self, X, texts, k, others):
        """:meth:`top_similar` of ``texts`` and :meth:`similarities` to ``others`` (float32
        here) in one pass over ``X``: each block of rows is read, converted and normalised
        once (for a memory-mapped float16 bundle that pass is a fifth of the work)."""
        texts, others = unit_or_error(texts), unit_or_error(others)
        m, n = texts.shape[0], X.shape[0]
        idx = np.empty((n, k), dtype=index_dtype(m))
        sim = np.empty((n, k), dtype=np.float32)
        other = np.empty((n, others.shape[0]), dtype=np.float32)
        tt, ot = texts.T, others.T
        for blk in row_blocks(n, m):
            xb = unit_or_error(X[blk])
            idx[blk], sim[blk] = top_k_rows(xb @ tt, k)
            other[blk] = xb @ ot
        return idx, sim, other

    def similarities(self, X, texts):
        """[N, T] similarities of each row of ``X`` to each text (float32 products, float64 out)."""
        texts = unit_or_error(texts)
        out = np.empty((X.shape[0], texts.shape[0]), dtype=np.float64)
        for blk in row_blocks(X.shape[0], max(texts.shape[0], 64)):
            out[blk] = unit_or_error(X[blk]) @ texts.T
        return out

    def nearest(self, X, ref, k):
        """Each row's ``k`` largest similarities to the rows of ``ref`` ([N, min(k, len(ref))],
        float64, in no particular order)."""
        ref = unit_or_error(ref)
        kk = min(k, ref.shape[0])
        out = np.empty((X.shape[0], kk), dtype=np.float64)
        for blk in row_blocks(X.shape[0], ref.shape[0]):
            sims = unit_or_error(X[blk]) @ ref.T
            if kk < ref.shape[0]:
                sims = np.partition(sims, ref.shape[0] - kk, axis=1)[:, -kk:]
            out[blk] = sims
        return out


#: Backends by name; :mod:`bliss_core.scale.torch_backend` adds ``"torch"`` when it is imported.
BACKENDS: dict[str, Callable[..., Any]] = {"numpy": NumpyKernels}


def register_backend(name: str, factory: Callable[..., Any]) -> None:
    """Make ``factory(**options)`` available as backend ``name``."""
    BACKENDS[name] = factory


def resolve_backend(backend: Any) -> Any:
    """A kernels object from a name (``"numpy"``, a registered one) or a kernels object itself."""
    if backend is None:
        return NumpyKernels()
    if isinstance(backend, str):
        try:
            return BACKENDS[backend]()
        except KeyError:
            raise ScoringError(
                f"unknown scoring backend {backend!r}; known: {', '.join(BACKENDS)}."
            ) from None
    if all(hasattr(backend, m) for m in ("class_stats", "top_similar", "similarities", "nearest")):
        return backend
    raise ScoringError(f"{backend!r} is not a scoring backend.")
