"""The NegLabel and gap-shift kernels against slow paths written from the formulas
(plain Python loops, float64), on random data of several sizes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bliss_core.core.gap import check_delta, gap_vector, gapshift_scores, shift_pair
from bliss_core.core.neglabel import (
    check_groups,
    check_negatives,
    group_negatives,
    neglabel_scores,
    select_negatives,
)
from bliss_core.errors import ScoringError


def _unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / math.sqrt(float(v @ v))


def _cos(a, b) -> float:
    return float(_unit(a) @ _unit(b))


def _slow_negatives(cands, labels, m):
    ranks = [float(np.quantile([_cos(c, t) for t in labels], 0.95)) for c in cands]
    return sorted(range(len(cands)), key=lambda i: ranks[i])[:m]  # sorted() is stable


def _slow_neglabel(x, labels, negs_in_order, m, g, seed, tau=0.01):
    used = g * (m // g)
    perm = np.random.default_rng(seed).permutation(used)
    chunks = [perm[i * (used // g) : (i + 1) * (used // g)] for i in range(g)]
    pos = sum(math.exp(_cos(x, t) / tau) for t in labels)
    s = []
    for chunk in chunks:
        neg = sum(math.exp(_cos(x, negs_in_order[j]) / tau) for j in chunk)
        s.append(pos / (pos + neg))
    return 1.0 - sum(s) / len(s)


@pytest.mark.parametrize(
    ("n_cand", "m", "g", "seed"), [(40, None, None, 0), (40, 9, 3, 5), (7, None, None, 1), (25, 25, 1, 2)]
)
def test_neglabel_matches_the_formula(n_cand, m, g, seed):
    rng = np.random.default_rng(n_cand + seed)
    dim = 12
    labels = rng.standard_normal((3, dim))
    cands = rng.standard_normal((n_cand, dim))
    # scale keeps exp(cos/0.01) finite in the slow path
    x = rng.standard_normal((6, dim)) * 0.2
    neg_idx = select_negatives(cands, labels, m)
    m_eff = m if m is not None else math.floor(0.15 * n_cand)
    assert list(neg_idx) == _slow_negatives(cands, labels, m_eff)
    groups = group_negatives(len(neg_idx), g, seed)
    g_eff = g if g is not None else min(100, m_eff)
    assert groups.shape == (g_eff, m_eff // g_eff)
    fast = neglabel_scores(x, labels, cands[neg_idx], groups)
    slow = [_slow_neglabel(xi, labels, cands[neg_idx], m_eff, g_eff, seed) for xi in x]
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-9)


def test_negative_selection_is_stable_on_ties():
    labels = np.eye(4)[:2]
    cands = np.array([[0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0]], dtype=float)
    # candidates 0, 1 and 2 tie at quantile 0; dictionary order is kept
    assert list(select_negatives(cands, labels, 3)) == [0, 1, 2]


def test_neglabel_is_finite_when_exponentials_overflow():
    labels = np.eye(3)
    x = np.eye(3)
    negs = -np.eye(3)
    scores = neglabel_scores(x, labels, negs, group_negatives(3, 1), tau=1e-4)
    assert np.all(np.isfinite(scores))


@pytest.mark.parametrize("bad", [0, -3, "x", 2.5, float("nan"), 1000, True])
def test_bad_negatives_are_one_line_errors(bad):
    with pytest.raises(ScoringError) as err:
        check_negatives(bad, 50)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("bad", [0, -1, "two", 11])
def test_bad_groups_are_one_line_errors(bad):
    with pytest.raises(ScoringError) as err:
        check_groups(bad, 10)
    assert "\n" not in str(err.value)


def test_default_negatives_of_a_tiny_dictionary_are_refused_in_a_sentence():
    with pytest.raises(ScoringError, match="--negatives"):
        select_negatives(np.eye(3), np.eye(3)[:1])


def _slow_gapshift(x, labels, images, texts, delta):
    gap = np.mean([_unit(i) for i in images], axis=0) - np.mean([_unit(t) for t in texts], axis=0)
    u = gap / math.sqrt(float(gap @ gap))
    d = math.sqrt(float(gap @ gap)) if delta is None else delta
    xs = _unit(_unit(x) - d * u / 2)
    return -max(float(xs @ _unit(_unit(t) + d * u / 2)) for t in labels)


@pytest.mark.parametrize("delta", [None, 0.0, -0.4, 0.3, 1.7])
def test_gapshift_matches_the_formula(delta):
    rng = np.random.default_rng(3)
    images = rng.standard_normal((20, 8)) + 2
    texts = rng.standard_normal((4, 8)) - 1
    x = rng.standard_normal((7, 8))
    gap = gap_vector(images, texts)
    fast = gapshift_scores(x, texts, gap, delta)
    slow = [_slow_gapshift(xi, texts, images, texts, delta) for xi in x]
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


def test_closing_the_gap_moves_the_centres_together():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((200, 16)) * 0.1 + 1.0
    texts = rng.standard_normal((50, 16)) * 0.1 - 1.0
    gap = gap_vector(images, texts)
    xi, ct = shift_pair(images, texts, gap)
    closed = np.linalg.norm(xi.mean(0) - ct.mean(0))
    xi_w, ct_w = shift_pair(images, texts, gap, -0.5 * np.linalg.norm(gap))
    assert closed < 0.2 * np.linalg.norm(gap)
    assert np.linalg.norm(xi_w.mean(0) - ct_w.mean(0)) > np.linalg.norm(gap) * 0.99


@pytest.mark.parametrize("bad", ["x", float("inf"), None])
def test_bad_delta_is_a_one_line_error(bad):
    with pytest.raises(ScoringError):
        check_delta(bad)


def test_zero_gap_is_refused():
    e = np.eye(3)
    with pytest.raises(ScoringError, match="zero"):
        gapshift_scores(e, e, gap_vector(e, e))
