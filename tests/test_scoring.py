"""Scores against slow, obviously-correct computations written straight from METHOD.md."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_bundle

from bliss_core import (
    BlissScorer,
    KNNScorer,
    MaxSimScorer,
    MCMScorer,
    ScoringError,
    make_simulated_bundle,
)


def unit(v):
    return np.asarray(v, dtype=np.float64) / np.linalg.norm(v)


def slow_bliss(bundle, normal, x, lam, k):
    """One image, one class at a time, loops and plain Python statistics."""
    dict_vecs = [unit(d) for d in bundle.dict_text_emb]
    x = unit(x)
    sims_x = [float(x @ d) for d in dict_vecs]
    top = sorted(range(len(dict_vecs)), key=lambda j: -sims_x[j])[:k]
    best = None
    for c in normal:
        refs = [
            unit(bundle.image_emb[i])
            for i in range(len(bundle.image_label))
            if bundle.image_is_train[i] and bundle.image_label[i] == c
        ]
        t = unit(bundle.class_text_emb[c])
        s_ref = [float(r @ t) for r in refs]
        mu = sum(s_ref) / len(s_ref)
        sd = (sum((s - mu) ** 2 for s in s_ref) / len(s_ref)) ** 0.5 + 1e-8
        internal = -(float(x @ t) - mu) / sd
        ext_terms = []
        for j in top:
            sj = [float(r @ dict_vecs[j]) for r in refs]
            mj = sum(sj) / len(sj)
            sdj = (sum((s - mj) ** 2 for s in sj) / len(sj)) ** 0.5 + 1e-8
            ext_terms.append((sims_x[j] - mj) / sdj)
        score = internal + lam * sum(ext_terms) / len(ext_terms)
        best = score if best is None else min(best, score)
    return best


@pytest.mark.parametrize(
    "normal,lam,k", [([0], 0.5, 3), ([1, 3], 0.75, 10), ([0, 1, 2], 0.0, 1), ([2], 2.0, 30)]
)
def test_bliss_matches_slow_path(normal, lam, k):
    b = random_bundle(seed=1)
    scorer = BlissScorer(lam=lam, topk=k).fit_bundle(b, normal)
    test = b.image_emb[~b.image_is_train]
    fast = scorer.decision_function(test)
    slow = np.array([slow_bliss(b, normal, x, lam, k) for x in test])
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-5)


def test_precompute_serves_every_lambda_k_and_class_subset():
    b = random_bundle(seed=2)
    scorer = BlissScorer().fit_bundle(b, [0, 1, 2])
    test = b.image_emb[~b.image_is_train]
    pre = scorer.precompute(test, max_topk=12)
    for lam in (0.0, 0.3, 1.7):
        for k in (1, 5, 12):
            for classes in ([0], [1, 2], [0, 1, 2]):
                direct = BlissScorer(lam=lam, topk=k).fit_bundle(b, classes).decision_function(test)
                np.testing.assert_allclose(pre.scores(lam, k, classes), direct, rtol=1e-6, atol=1e-6)


def test_components_add_up():
    b = random_bundle(seed=3)
    pre = BlissScorer().fit_bundle(b, [0, 2]).precompute(b.image_emb[~b.image_is_train], max_topk=5)
    parts = pre.components(0.6, 5)
    np.testing.assert_allclose(parts["score"], parts["internal"] + 0.6 * parts["external"], atol=1e-9)
    np.testing.assert_allclose(parts["score"], pre.scores(0.6, 5))
    assert set(parts["nearest_class"].tolist()) <= {0, 2}


def test_lambda_zero_is_internal_score():
    b = random_bundle(seed=4)
    test = b.image_emb[~b.image_is_train]
    s = BlissScorer(lam=0.0, topk=5).fit_bundle(b, [1]).decision_function(test)
    refs = b.image_emb[b.image_is_train & (b.image_label == 1)]
    sims_ref = refs @ b.class_text_emb[1]
    internal = -((test @ b.class_text_emb[1]) - sims_ref.mean()) / (sims_ref.std() + 1e-8)
    np.testing.assert_allclose(s, internal, rtol=1e-5, atol=1e-5)


def test_maxsim_mcm_knn_against_direct_computation():
    b = random_bundle(seed=5)
    test = b.image_emb[~b.image_is_train]
    normal = [0, 2]
    sims = test @ b.class_text_emb[normal].T
    np.testing.assert_allclose(
        MaxSimScorer().fit_bundle(b, normal).decision_function(test), -sims.max(1), rtol=1e-5
    )
    p = np.exp(sims) / np.exp(sims).sum(1, keepdims=True)
    np.testing.assert_allclose(
        MCMScorer().fit_bundle(b, normal).decision_function(test), -p.max(1), rtol=1e-5
    )
    refs = b.image_emb[b.image_is_train & np.isin(b.image_label, normal)]
    d = 1 - test @ refs.T
    expected = np.sort(d, axis=1)[:, :3].mean(1)
    np.testing.assert_allclose(
        KNNScorer(k=3).fit_bundle(b, normal).decision_function(test), expected, rtol=1e-5, atol=1e-6
    )


def test_knn_precompute_merges_class_subsets():
    b = random_bundle(seed=6)
    test = b.image_emb[~b.image_is_train]
    pre = KNNScorer(k=4).fit_bundle(b, [0, 1, 2, 3]).precompute(test)
    for subset in ([1], [0, 3], [0, 1, 2]):
        direct = KNNScorer(k=4).fit_bundle(b, subset).decision_function(test)
        np.testing.assert_allclose(pre.scores(classes=subset), direct, rtol=1e-6)


def test_mcm_refuses_single_class():
    b = random_bundle()
    with pytest.raises(ScoringError, match="at least two normal classes"):
        MCMScorer().fit_bundle(b, [0]).decision_function(b.image_emb[:3])


@pytest.mark.parametrize(
    "kwargs,match", [({"topk": 0}, "K must be"), ({"lam": -1}, "lambda"), ({"lam": float("nan")}, "lambda")]
)
def test_bad_parameters(kwargs, match):
    scorer = BlissScorer(**kwargs)  # scikit-learn's convention: stored as given, checked by fit
    assert scorer.get_params()[next(iter(kwargs))] is next(iter(kwargs.values()))
    with pytest.raises(ScoringError, match=match):
        scorer.fit_bundle(random_bundle(), [0])


@pytest.mark.parametrize("cls", [BlissScorer, MaxSimScorer, KNNScorer, MCMScorer])
def test_scoring_before_fit_says_not_fitted(cls):
    from bliss_core import NotFittedError

    x = random_bundle().image_emb[:3]
    for call in (lambda s: s.decision_function(x), lambda s: s.precompute(x)):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call(cls())


def test_params_follow_scikit_learn():
    s = BlissScorer(lam=0.75, topk=20)
    assert s.get_params() == {
        "class_text_emb": None,
        "dict_text_emb": None,
        "lam": 0.75,
        "topk": 20,
        "eps": 1e-8,
        "backend": "numpy",
    }
    assert s.set_params(topk=5) is s and s.topk == 5
    assert repr(s) == "BlissScorer(lam=0.75, topk=5)"  # scikit-learn's: the changed parameters
    with pytest.raises(ValueError, match="'k'"):  # scikit-learn's own message
        s.set_params(k=3)
    fitted = s.fit_bundle(random_bundle(), [0, 1])
    learned = [n for n in vars(fitted) if n not in s.get_params() and not n.startswith("_")]
    assert learned and all(name.endswith("_") for name in learned)


def test_k_larger_than_dictionary_and_unknown_class():
    b = random_bundle(n_dict=7)
    with pytest.raises(ScoringError, match="larger than the dictionary, which has 7"):
        BlissScorer(topk=8).fit_bundle(b, [0])
    with pytest.raises(ScoringError, match="does not exist"):
        BlissScorer().fit_bundle(b, [9])
    pre = BlissScorer(topk=3).fit_bundle(b, [0]).precompute(b.image_emb[:2])
    with pytest.raises(ScoringError, match="no fitted normal reference"):
        pre.scores(0.5, 3, classes=[1])


def test_higher_score_means_more_anomalous_on_simulation():
    b = make_simulated_bundle(seed=3)
    scorer = BlissScorer(lam=1.0, topk=10).fit_bundle(b, [0])
    test = b.test_idx
    s = scorer.decision_function(b.image_emb[test])
    anomalous = b.image_label[test] != 0
    assert s[anomalous].mean() > s[~anomalous].mean()
