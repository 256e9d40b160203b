"""Scoring large test sets in bounded memory: the on-demand external sums, the row views and
the float32 covariance factor give the numbers the dense, copying, float64 paths give."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_bundle

from bliss_core import BlissScorer, evaluate, make_simulated_bundle
from bliss_core.core.kernels import NumpyKernels, RowSubset, covariance_factor, quadratic_forms, take_rows
from bliss_core.core.scorers import make_scorer, precompute


@pytest.fixture(scope="module")
def sim():
    return make_simulated_bundle(seed=3, train_per_class=80, test_per_class=40, dim=48, n_dict=150)


def test_on_demand_sums_equal_the_running_sums_bitwise(sim, monkeypatch):
    test = sim.image_emb[sim.test_idx]
    scorer = BlissScorer().fit_bundle(sim, [0, 3, 5])
    dense = scorer.precompute(test, max_topk=20).prepare_all_k(np.float64)
    monkeypatch.setattr(precompute, "DENSE_BYTES", 0)
    lazy = scorer.precompute(test, max_topk=20)
    for lam, k, classes in ((0.5, 1, None), (1.5, 7, [3]), (0.75, 20, [0, 5]), (0.0, 4, None)):
        assert np.array_equal(lazy.scores(lam, k, classes), dense.scores(lam, k, classes))
        assert np.array_equal(lazy.external(k, classes), dense.external(k, classes))
    comp_l, comp_d = lazy.components(0.5, 10), dense.components(0.5, 10)
    for key in comp_l:
        assert np.array_equal(comp_l[key], comp_d[key])
    assert lazy._cumsum is None  # nothing [C, N, L] was built on the way
    drop = {int(j) for j in np.unique(lazy.topk_idx[:, 0])[:3]}
    assert np.array_equal(lazy.excluding(drop, 10).scores(0.5, 10), dense.excluding(drop, 10).scores(0.5, 10))


def test_compact_storage(sim):
    pre = BlissScorer().fit_bundle(sim, [1]).precompute(sim.image_emb[sim.test_idx], max_topk=12)
    assert (
        pre.topk_idx.dtype == np.int32
        and pre.topk_sim.dtype == np.float32
        and pre.label_sim.dtype == np.float32
    )
    assert pre.ext_cumsum.shape == (1, pre.n_images, 12)  # still there for whoever asks


def test_float32_running_sums_for_large_live_sets_agree(sim):
    pre = BlissScorer().fit_bundle(sim, [0, 1]).precompute(sim.image_emb[sim.test_idx], max_topk=15)
    ref = pre.scores(0.5, 9)
    pre32 = BlissScorer().fit_bundle(sim, [0, 1]).precompute(sim.image_emb[sim.test_idx], max_topk=15)
    pre32.prepare_all_k(np.float32)
    assert pre32.ext_cumsum.dtype == np.float32
    np.testing.assert_allclose(pre32.scores(0.5, 9), ref, rtol=1e-5, atol=1e-5)


def test_row_views_read_only_what_they_are_asked_for():
    x = np.arange(40, dtype=np.float32).reshape(10, 4)
    view = take_rows(x, np.r_[np.zeros(3, bool), np.ones(7, bool)])
    assert np.shares_memory(view, x) and np.array_equal(view, x[3:])  # a contiguous run: a view
    sub = take_rows(x, np.array([0, 2, 7]))
    assert isinstance(sub, RowSubset) and sub.shape == (3, 4) and len(sub) == 3
    assert np.array_equal(sub[1:3], x[[2, 7]]) and np.array_equal(np.asarray(sub), x[[0, 2, 7]])


def test_scorers_on_row_views_equal_scorers_on_copies():
    b = random_bundle(seed=5)
    rows = np.flatnonzero(~b.image_is_train)[::2]  # not contiguous
    for method, params in (("bliss", {"topk": 4}), ("maxsim", {}), ("knn", {"k": 3})):
        scorer = make_scorer(method, **params).fit_bundle(b, [0, 2])
        assert np.array_equal(
            scorer.decision_function(RowSubset(b.image_emb, rows)),
            scorer.decision_function(b.image_emb[rows]),
        )


def test_covariance_factor_gives_float64_variances():
    rng = np.random.default_rng(0)
    d = rng.standard_normal((300, 24)).astype(np.float32)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    for n in (10, 24, 200):  # fewer rows than dimensions, as many, more
        r = (rng.standard_normal((n, 24)) * 0.1 + 1.0).astype(np.float32)
        centred = r - r.mean(axis=0, dtype=np.float64).astype(np.float32)
        exact = ((r.astype(np.float64) @ d.T.astype(np.float64)).std(axis=0)) ** 2
        np.testing.assert_allclose(quadratic_forms(d, covariance_factor(centred)), exact, rtol=2e-5)


def test_class_stats_against_float64_statistics(sim):
    tr = sim.image_is_train
    stats = NumpyKernels().class_stats(
        sim.image_emb[tr], sim.image_label[tr], np.array([0, 4]), sim.class_text_emb, sim.dict_text_emb, 1e-8
    )
    d64 = sim.dict_text_emb.astype(np.float64)
    for i, c in enumerate((0, 4)):
        s = sim.image_emb[tr & (sim.image_label == c)].astype(np.float64) @ d64.T
        np.testing.assert_allclose(stats.dict_sd[i], s.std(axis=0) + 1e-8, rtol=1e-5)
        np.testing.assert_allclose(stats.dict_mu[i], s.mean(axis=0), atol=1e-6)


def test_evaluate_on_demand_equals_dense(sim, monkeypatch):
    splits = [[0], [1, 2], [3, 4, 5]]
    kw = dict(lams=[0, 0.5, 1.0], topks=[1, 5, 10])
    dense = evaluate(sim, splits, **kw)
    monkeypatch.setattr(precompute, "DENSE_BYTES", 0)
    lazy = evaluate(sim, splits, **kw)
    assert lazy == dense


def test_one_pass_scan_equals_two_passes(sim):
    k = NumpyKernels()
    x = sim.image_emb[sim.test_idx]
    idx, s, other = k.top_similar_and_similarities(x, sim.dict_text_emb, 12, sim.class_text_emb)
    idx2, s2 = k.top_similar(x, sim.dict_text_emb, 12)
    assert np.array_equal(idx, idx2) and np.array_equal(s, s2)
    np.testing.assert_allclose(other, k.similarities(x, sim.class_text_emb), rtol=0, atol=1e-6)

    class FourMethods:  # a backend with only the protocol's four methods
        name = "plain"
        class_stats, top_similar, similarities, nearest = (
            k.class_stats,
            k.top_similar,
            k.similarities,
            k.nearest,
        )

    a = BlissScorer(backend=FourMethods()).fit_bundle(sim, [0, 2]).decision_function(x)
    b = BlissScorer().fit_bundle(sim, [0, 2]).decision_function(x)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
