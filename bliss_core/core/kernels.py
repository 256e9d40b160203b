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

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from ..errors import ScoringError, VectorError
from .vectors import unit_rows

__all__ = ["ClassStats", "Kernels", "NumpyKernels", "register_backend", "resolve_backend", "BACKENDS",
           "row_blocks"]

#: Rows per block are chosen so that a block's similarity matrix stays under this many bytes.
BLOCK_BYTES = 16 * 1024**2


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

    def class_stats(self, ref: np.ndarray, labels: np.ndarray, classes: np.ndarray, class_text: np.ndarray,
                    dict_text: np.ndarray, eps: float) -> ClassStats: ...

    def top_similar(self, X: np.ndarray, texts: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def similarities(self, X: np.ndarray, texts: np.ndarray) -> np.ndarray: ...

    def nearest(self, X: np.ndarray, ref: np.ndarray, k: int) -> np.ndarray: ...


def _unit_block(x: np.ndarray) -> np.ndarray:
    try:
        return unit_rows(np.asarray(x))
    except VectorError:
        raise ScoringError("an embedding has zero length or non-finite values and cannot be scored.") from None


def row_blocks(n: int, width: int, bytes_per: int = 8) -> Iterator[slice]:
    """Slices of ``range(n)`` whose ``rows x width`` blocks of ``bytes_per`` stay under BLOCK_BYTES."""
    step = max(1, min(max(n, 1), BLOCK_BYTES // max(1, bytes_per * width)))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


class NumpyKernels:
    """The CPU path: numpy in row blocks (the reference all other backends are tested against)."""

    name = "numpy"

    def class_stats(self, ref, labels, classes, class_text, dict_text, eps) -> ClassStats:
        labels = np.asarray(labels)
        class_text = _unit_block(class_text)
        dict64 = _unit_block(dict_text).astype(np.float64)
        n_c, m = len(classes), dict64.shape[0]
        mu, sd = np.empty(n_c), np.empty(n_c)
        means = np.empty((n_c, dict64.shape[1]))
        dict_sd = np.empty((n_c, m))
        for i, c in enumerate(classes):
            r = _unit_block(np.asarray(ref)[labels == c])
            mean = r.mean(axis=0, dtype=np.float64)
            means[i] = mean
            # Centre in float32 (entries are ~1e-2, so nothing is lost), take the Gram matrix
            # with a float32 BLAS call and do the cancellation-prone d^T Cov d in float64.
            centred = r - mean.astype(np.float32)
            s = (centred @ class_text[c]).astype(np.float64) + mean @ class_text[c].astype(np.float64)
            mu[i] = s.mean()
            sd[i] = s.std() + eps
            cov = (centred.T @ centred).astype(np.float64)
            cov /= r.shape[0]
            var = np.einsum("md,md->m", dict64 @ cov, dict64)
            dict_sd[i] = np.sqrt(np.maximum(var, 0.0)) + eps
        return ClassStats(mu=mu, sd=sd, dict_mu=means @ dict64.T, dict_sd=dict_sd)

    def top_similar(self, X, texts, k):
        """``(idx, sim)``: each row's ``k`` most similar texts, most similar first ([N, k] int64
        and float64). Blocks of rows keep the similarity matrix small."""
        texts = _unit_block(texts)
        m = texts.shape[0]
        n = X.shape[0]
        idx = np.empty((n, k), dtype=np.int64)
        sim = np.empty((n, k), dtype=np.float32)
        tt = texts.T
        for blk in row_blocks(n, m):
            sims = _unit_block(X[blk]) @ tt
            if k < m:
                p = np.argpartition(sims, m - k, axis=1)[:, m - k:]
            else:
                p = np.broadcast_to(np.arange(m), sims.shape)
            s = np.take_along_axis(sims, p, axis=1)
            order = np.argsort(-s, axis=1, kind="stable")
            idx[blk] = np.take_along_axis(p, order, axis=1)
            sim[blk] = np.take_along_axis(s, order, axis=1)
        return idx, sim.astype(np.float64)

    def similarities(self, X, texts):
        texts = _unit_block(texts)
        out = np.empty((X.shape[0], texts.shape[0]), dtype=np.float64)
        for blk in row_blocks(X.shape[0], max(texts.shape[0], 64)):
            out[blk] = _unit_block(X[blk]) @ texts.T
        return out

    def nearest(self, X, ref, k):
        """Each row's ``k`` largest similarities to the rows of ``ref`` ([N, min(k, len(ref))],
        float64, in no particular order)."""
        ref = _unit_block(ref)
        kk = min(k, ref.shape[0])
        out = np.empty((X.shape[0], kk), dtype=np.float64)
        for blk in row_blocks(X.shape[0], ref.shape[0], 4):
            sims = _unit_block(X[blk]) @ ref.T
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
            raise ScoringError(f"unknown scoring backend {backend!r}; known: {', '.join(BACKENDS)}.") from None
    if all(hasattr(backend, m) for m in ("class_stats", "top_similar", "similarities", "nearest")):
        return backend
    raise ScoringError(f"{backend!r} is not a scoring backend.")
