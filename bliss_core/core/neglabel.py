"""NegLabel (Jiang et al., ICLR 2024): score an image against the normal labels *and* a set of
negative labels mined from a large text corpus, so that an image closer to the negatives than to
the normal labels is flagged. Plain functions; ``core/scorers`` wraps them as an estimator.

What this follows from the official code (XueJiang16/NegLabel, ``clip_ood.py`` grouping):

* negatives are the candidates *least* like the normal labels: for each candidate the
  0.95-quantile of its cosine similarities to the normal label texts, ascending, the first M;
* grouping: the first ``G * (M // G)`` negatives are permuted once with a seeded permutation
  and cut into G consecutive equal chunks; the score averages the per-group softmax mass of
  the normal labels, ``S_g = sum_k e^{cos(x,c_k)/tau} / (that + sum_{j in g} e^{cos(x,n_j)/tau})``.

Where it differs from the official run: the candidates are the bundle's dictionary (the official
corpus is ~79k WordNet words with its own prompts); the permutation is numpy's
``default_rng(seed).permutation`` (the official code uses ``torch.randperm`` with seed 0); and
``groups=1`` computes the paper's formula with the softmax (the official ``ngroup=1`` branch
sums raw similarities). The anomaly score is ``1 - mean_g S_g`` (higher = more anomalous).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from ..errors import ScoringError
from .kernels import row_blocks, unit_or_error

__all__ = [
    "DEFAULT_GROUPS",
    "DEFAULT_NEG_FRACTION",
    "DEFAULT_TAU",
    "NEG_QUANTILE",
    "check_groups",
    "check_negatives",
    "default_negatives",
    "group_negatives",
    "neglabel_scores",
    "select_negatives",
]

#: the official ``neg_topk=0.15``: the share of the candidates taken as negatives
DEFAULT_NEG_FRACTION = 0.15
#: the official ``ngroup=100``
DEFAULT_GROUPS = 100
#: the official softmax temperature
DEFAULT_TAU = 0.01
#: the quantile of a candidate's similarities to the normal labels that ranks it
NEG_QUANTILE = 0.95


def _whole(value: object, what: str) -> int:
    """``value`` as an int, or a one-line :class:`ScoringError` unless it is a whole number >= 1."""
    ok = False
    if isinstance(value, (Real, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
        ok = math.isfinite(number) and number == int(number) and number >= 1
    elif isinstance(value, str):
        try:
            return _whole(float(value), what)
        except ValueError:
            ok = False
    if not ok:
        raise ScoringError(f"{what} must be a whole number >= 1, got {value!r}.")
    return int(float(value))  # type: ignore[arg-type]


def default_negatives(n_candidates: int) -> int:
    """The official default M = floor(0.15 x candidates)."""
    return math.floor(DEFAULT_NEG_FRACTION * n_candidates)


def check_negatives(m: object, n_candidates: int) -> int:
    """M as an int in 1..n_candidates, or a one-line :class:`ScoringError`."""
    if n_candidates < 1:
        raise ScoringError("NegLabel needs at least one dictionary entry as a negative-label candidate.")
    m = _whole(m, "the number of negatives (--negatives)")
    if m > n_candidates:
        raise ScoringError(f"--negatives {m} is more than the {n_candidates} candidate dictionary entries.")
    return m


def check_groups(g: object, n_negatives: int) -> int:
    """G as an int in 1..n_negatives, or a one-line :class:`ScoringError`."""
    g = _whole(g, "the number of groups (--groups)")
    if g > n_negatives:
        raise ScoringError(
            f"--groups {g} is more than the {n_negatives} negatives; use at most {n_negatives}."
        )
    return g


def select_negatives(
    candidate_emb: np.ndarray, label_emb: np.ndarray, n_negatives: int | None = None
) -> np.ndarray:
    """Indices of the M candidates least like the normal labels, in ascending order of the
    0.95-quantile (numpy's linear) of their cosine similarities to ``label_emb``; ties keep the
    candidates' order. ``n_negatives`` defaults to floor(0.15 x candidates)."""
    cand = unit_or_error(candidate_emb, np.float64)
    labels = unit_or_error(label_emb, np.float64)
    n = cand.shape[0]
    if n_negatives is None:
        m = default_negatives(n)
        if m < 1:
            raise ScoringError(
                f"NegLabel's default takes 15% of the dictionary as negatives, which is none of its {n} "
                "entries; pass --negatives M or use a dictionary of at least 7 entries."
            )
    else:
        m = check_negatives(n_negatives, n)
    ranks = np.empty(n, dtype=np.float64)
    for rows in row_blocks(n, labels.shape[0], bytes_per=8):
        sims = cand[rows] @ labels.T
        ranks[rows] = np.quantile(sims, NEG_QUANTILE, axis=1)
    return np.argsort(ranks, kind="stable")[:m]


def group_negatives(n_negatives: int, n_groups: int | None = None, seed: int = 0) -> np.ndarray:
    """Positions into the ordered negatives, shape (G, M // G): the first ``G * (M // G)``
    permuted with ``numpy.random.default_rng(seed).permutation`` and cut into G consecutive
    chunks. ``n_groups`` defaults to 100, lowered to M when there are fewer negatives."""
    m = _whole(n_negatives, "the number of negatives")
    g = min(DEFAULT_GROUPS, m) if n_groups is None else check_groups(n_groups, m)
    used = g * (m // g)
    order = np.random.default_rng(int(seed)).permutation(used)
    return order.reshape(g, used // g)


def _logsumexp(a: np.ndarray) -> np.ndarray:
    """Row-wise log(sum(exp(a))) without overflow."""
    top = a.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis=1, keepdims=True)))[:, 0]


def neglabel_scores(
    X: np.ndarray,
    label_emb: np.ndarray,
    negative_emb: np.ndarray,
    groups: np.ndarray,
    tau: float = DEFAULT_TAU,
) -> np.ndarray:
    """Anomaly scores ``1 - mean_g S_g`` (higher = more anomalous), computed with log-sum-exp.

    ``negative_emb`` holds the negatives in their selected order; ``groups`` (from
    :func:`group_negatives`) indexes into it."""
    if not (isinstance(tau, Real) and math.isfinite(float(tau)) and float(tau) > 0):
        raise ScoringError(f"the NegLabel temperature must be a number > 0, got {tau!r}.")
    x = np.asarray(X)
    labels = unit_or_error(label_emb, np.float64)
    groups = np.asarray(groups, dtype=np.intp)
    negs = unit_or_error(negative_emb, np.float64)[groups.ravel()]
    n_groups, per_group = groups.shape
    out = np.empty(x.shape[0], dtype=np.float64)
    width = labels.shape[0] + negs.shape[0]
    for rows in row_blocks(x.shape[0], width, bytes_per=8):
        block = unit_or_error(x[rows], np.float64)
        pos = _logsumexp(block @ labels.T / tau)
        neg_sims = (block @ negs.T / tau).reshape(-1, n_groups, per_group)
        top = neg_sims.max(axis=2, keepdims=True)
        neg = (top + np.log(np.exp(neg_sims - top).sum(axis=2, keepdims=True)))[:, :, 0]
        # S_g = e^pos / (e^pos + e^neg_g) = exp(pos - logaddexp(pos, neg_g))
        s = np.exp(pos[:, None] - np.logaddexp(pos[:, None], neg))
        out[rows] = 1.0 - s.mean(axis=1)
    return out
