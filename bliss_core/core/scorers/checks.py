"""The scorers' defaults and argument checks (numpy only, so that the CLI can read the defaults
without importing scikit-learn)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ScoringError

__all__ = [
    "DEFAULT_LAMBDA",
    "DEFAULT_TOPK",
    "EPS",
    "METHOD_NAMES",
    "check_lambda",
    "check_positive",
    "check_seed",
    "check_topk",
    "check_whole",
]

EPS = 1e-8
#: The published script's defaults; the CLI and the app start from them.
DEFAULT_LAMBDA = 0.5
DEFAULT_TOPK = 10
#: How tables, figures and pages name each method (``internal`` is BLISS at lambda = 0).
METHOD_NAMES = {
    "bliss": "BLISS",
    "internal": "internal only (λ=0)",
    "maxsim": "CLIP max-sim",
    "knn": "kNN (images only)",
    "mcm": "MCM",
    "neglabel": "NegLabel",
    "gapshift": "Gap shift",
}


def check_lambda(lam: float) -> float:
    """``lam`` as a float, or :class:`ScoringError` unless it is finite and >= 0."""
    try:
        lam = float(lam)
    except (TypeError, ValueError, OverflowError):
        raise ScoringError(f"lambda must be a number, got {lam!r}.") from None
    if not np.isfinite(lam) or lam < 0:
        raise ScoringError(f"lambda must be a finite number >= 0, got {lam}.")
    return lam


def check_whole(value: Any, what: str) -> int:
    """``value`` as an int, or :class:`ScoringError` unless it is a whole number >= 1."""
    try:
        ok = float(value) == int(value) and int(value) >= 1
    except (TypeError, ValueError, OverflowError):  # inf, nan, 1e400, text
        ok = False
    if not ok:
        raise ScoringError(f"{what} must be a whole number >= 1, got {value}.")
    return int(value)


def check_topk(topk: float, n_entries: int | None = None) -> int:
    """``topk`` as an int, or :class:`ScoringError` unless it is a whole number in 1..n_entries."""
    k = check_whole(topk, "K")
    if n_entries is not None and k > n_entries:
        raise ScoringError(f"K={k} is larger than the dictionary, which has {n_entries} entries.")
    return k


def check_seed(seed: Any) -> int:
    """``seed`` as an int, or :class:`ScoringError` unless it is a whole number >= 0."""
    try:
        ok = float(seed) == int(seed) and int(seed) >= 0
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ScoringError(f"the seed must be a whole number >= 0, got {seed}.")
    return int(seed)


def check_positive(value: Any, what: str) -> float:
    """``value`` as a float, or :class:`ScoringError` unless it is a finite number > 0."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        v = float("nan")
    if not (np.isfinite(v) and v > 0):
        raise ScoringError(f"{what} must be a positive number, got {value!r}.")
    return v
