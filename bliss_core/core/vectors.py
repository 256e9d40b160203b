"""Unit-length rows: the one place embeddings are normalised.

Every similarity in bliss-lab is a dot product of L2-normalised rows. Norms are taken with one
``einsum`` (no full-size temporary); when float32 squares overflow for huge but finite values,
they are taken again in float64, so only truly zero or non-finite rows are refused.
"""

from __future__ import annotations

import numpy as np

from ..errors import VectorError

__all__ = ["squared_row_norms", "unit_rows"]


def squared_row_norms(x: np.ndarray) -> np.ndarray:
    """Squared L2 norm of each row of a 2-D float array (float64 again on float32 overflow)."""
    sq = np.einsum("ij,ij->i", x, x)
    if not np.all(np.isfinite(sq)) and np.all(np.isfinite(x)):
        x64 = np.asarray(x, dtype=np.float64)
        sq = np.einsum("ij,ij->i", x64, x64)
    return sq


def unit_rows(
    x: np.ndarray,
    *,
    dtype: type = np.float32,
    zero: str = "raise",
    inplace: bool = False,
    sq: np.ndarray | None = None,
) -> np.ndarray:
    """Rows of ``x`` scaled to unit length, as a 2-D array of ``dtype`` (a 1-D ``x`` is one row).

    ``zero="raise"`` refuses a zero-length or non-finite row with :class:`VectorError` (its
    ``row`` says which); ``zero="keep"`` leaves such rows as they are. Rows already of unit
    length are returned without a copy; ``inplace`` allows dividing ``x`` itself (only when it
    already has ``dtype``). ``sq`` passes squared norms the caller has already computed.
    """
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[None, :]
    if x.dtype != dtype:
        x, inplace = x.astype(dtype), True
    if sq is None:
        sq = squared_row_norms(x)
    bad = ~(np.isfinite(sq) & (sq > 0))
    if zero == "raise" and bad.any():
        row = int(np.flatnonzero(bad)[0])
        what = "non-finite values" if not np.isfinite(sq[row]) else "zero length"
        raise VectorError(f"embedding row {row} has {what} and cannot be normalised.", row=row)
    norms = np.sqrt(sq)
    if x.size and not bad.any() and np.max(np.abs(norms - 1.0)) <= 1e-6:
        return x
    norms = np.where(bad, 1.0, norms).astype(dtype)[:, None]
    if inplace:
        x /= norms
        return x
    return x / norms
