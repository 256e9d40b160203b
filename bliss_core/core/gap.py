"""The modality gap, and closing it (Liang et al., "Mind the Gap", NeurIPS 2022).

The gap is the vector between the centres of the two modalities' unit embeddings,
``gap = mean(unit images) - mean(unit texts)``. Shifting images and texts towards each other
along its direction ``u`` by ``delta`` (``x' = unit(x - delta u / 2)``, ``c' = unit(c + delta u
/ 2)``) is the paper's experiment: ``delta = |gap|`` closes the gap, a negative ``delta`` widens
it (the official notebook sweeps both ways). The paper measured zero-shot accuracy only; the
anomaly score ``-max_k cos(x', c'_k)`` over the normal label texts is bliss-lab's, so students can
ask whether closing the gap corrects the bias BLISS corrects.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ScoringError
from .kernels import row_blocks, unit_or_error

__all__ = ["check_delta", "gap_vector", "gapshift_scores", "shift_pair"]


def check_delta(delta: object) -> float:
    """``delta`` as a finite float (any sign), or a one-line :class:`ScoringError`."""
    try:
        value = float(delta)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ScoringError(f"the gap shift (--gap-delta) must be a number, got {delta!r}.") from None
    if not math.isfinite(value):
        raise ScoringError(f"the gap shift (--gap-delta) must be a finite number, got {delta!r}.")
    return value


def _unit_mean(emb: np.ndarray) -> np.ndarray:
    """The mean of the unit rows of ``emb`` in float64, one block at a time."""
    total = np.zeros(np.asarray(emb).shape[1], dtype=np.float64)
    n = np.asarray(emb).shape[0]
    if n == 0:
        raise ScoringError("the modality gap needs at least one image and one text.")
    for rows in row_blocks(n, total.size, bytes_per=8):
        total += unit_or_error(emb[rows], np.float64).sum(axis=0)
    return total / n


def gap_vector(image_emb: np.ndarray, text_emb: np.ndarray) -> np.ndarray:
    """The modality gap ``mean(unit images) - mean(unit texts)`` (float64)."""
    return _unit_mean(image_emb) - _unit_mean(text_emb)


def _direction(gap: np.ndarray, delta: float | None) -> tuple[np.ndarray, float]:
    """The gap's unit direction and the shift (``|gap|`` by default: the closed gap)."""
    gap = np.asarray(gap, dtype=np.float64)
    norm = float(np.linalg.norm(gap))
    if not (math.isfinite(norm) and norm > 0):
        raise ScoringError("the modality gap is zero here, so there is no direction to shift along.")
    return gap / norm, norm if delta is None else check_delta(delta)


def _shifted(emb: np.ndarray, step: np.ndarray) -> np.ndarray:
    """``unit(unit(emb) + step)`` row-wise, in float64."""
    moved = unit_or_error(emb, np.float64) + step
    norms = np.linalg.norm(moved, axis=1, keepdims=True)
    if not np.all(norms > 0):
        raise ScoringError("the gap shift moved an embedding onto the origin; choose another shift.")
    return moved / norms


def shift_pair(
    image_emb: np.ndarray, text_emb: np.ndarray, gap: np.ndarray, delta: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Images and texts moved towards each other along the gap: ``unit(x - delta u / 2)`` and
    ``unit(c + delta u / 2)`` (float64 unit rows). ``delta`` defaults to ``|gap|``."""
    u, d = _direction(gap, delta)
    return _shifted(image_emb, -0.5 * d * u), _shifted(text_emb, 0.5 * d * u)


def gapshift_scores(
    X: np.ndarray, label_emb: np.ndarray, gap: np.ndarray, delta: float | None = None
) -> np.ndarray:
    """Anomaly scores ``-max_k cos(x', c'_k)`` after the shift (higher = more anomalous)."""
    u, d = _direction(gap, delta)
    labels = _shifted(label_emb, 0.5 * d * u)
    x = np.asarray(X)
    out = np.empty(x.shape[0], dtype=np.float64)
    for rows in row_blocks(x.shape[0], labels.shape[0] + x.shape[1], bytes_per=8):
        out[rows] = -(_shifted(x[rows], -0.5 * d * u) @ labels.T).max(axis=1)
    return out
