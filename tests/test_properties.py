"""Property-based tests (hypothesis): scoring invariants and the bundle loader."""

from __future__ import annotations

import io
import json

import numpy as np
from conftest import random_bundle
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bliss_core import BlissScorer, BundleError, KNNScorer, MaxSimScorer, load_bundle
from bliss_core.core.bundle import Bundle

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

seeds = st.integers(0, 10_000)
normals = st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True)
lams = st.floats(0, 3, allow_nan=False)
ks = st.integers(1, 30)


def _fit(b: Bundle, normal, lam=0.5, k=5):
    return BlissScorer(lam=lam, topk=k).fit_bundle(b, normal)


@SETTINGS
@given(seed=seeds, normal=normals, lam=lams, k=ks, scale=st.floats(0.01, 100))
def test_scaling_an_embedding_changes_no_score(seed, normal, lam, k, scale):
    b = random_bundle(seed)
    test = b.image_emb[~b.image_is_train]
    base = _fit(b, normal, lam, k).decision_function(test)
    scaled = test.copy()
    scaled[0] *= scale
    np.testing.assert_allclose(_fit(b, normal, lam, k).decision_function(scaled), base, rtol=1e-4, atol=1e-4)
    for scorer in (MaxSimScorer(), KNNScorer(k=3)):
        s = scorer.fit_bundle(b, normal)
        np.testing.assert_allclose(
            s.decision_function(scaled), s.decision_function(test), rtol=1e-5, atol=1e-6
        )


@SETTINGS
@given(seed=seeds, normal=normals, lam=lams, k=ks, perm_seed=seeds)
def test_permuting_test_images_permutes_scores(seed, normal, lam, k, perm_seed):
    b = random_bundle(seed)
    test = b.image_emb[~b.image_is_train]
    perm = np.random.default_rng(perm_seed).permutation(len(test))
    scorer = _fit(b, normal, lam, k)
    np.testing.assert_allclose(
        scorer.decision_function(test[perm]), scorer.decision_function(test)[perm], rtol=1e-5, atol=1e-5
    )


@SETTINGS
@given(seed=seeds, normal=normals, k=ks)
def test_lambda_zero_equals_internal_score(seed, normal, k):
    b = random_bundle(seed)
    test = b.image_emb[~b.image_is_train]
    pre = _fit(b, normal).precompute(test, max_topk=k)
    np.testing.assert_allclose(pre.scores(0.0, k), pre.internal.min(axis=1))
    np.testing.assert_allclose(
        BlissScorer(lam=0, topk=k).fit_bundle(b, normal).decision_function(test),
        pre.internal.min(axis=1),
        rtol=1e-6,
    )


@SETTINGS
@given(seed=seeds, normal=normals, lam=lams, k=st.integers(1, 20))
def test_far_dictionary_entry_changes_no_external_score(seed, normal, lam, k):
    b0 = random_bundle(seed)
    # Images share a common direction (as CLIP images do); the new entry points away from it.
    common = np.zeros(b0.dim, np.float32)
    common[0] = 1.0
    b = Bundle(
        image_emb=b0.image_emb + 2.0 * common,
        image_label=b0.image_label,
        image_is_train=b0.image_is_train,
        class_names=b0.class_names,
        class_text_emb=b0.class_text_emb,
        dict_names=b0.dict_names,
        dict_text_emb=b0.dict_text_emb,
    )
    test = b.image_emb[~b.image_is_train]
    far = -common
    sims = test @ b.dict_text_emb.T
    kth = np.sort(sims, axis=1)[:, -k]
    assume(np.all(test @ far < kth - 1e-6))
    before = _fit(b, normal, lam, k).precompute(test, max_topk=k).external(k)
    b2 = Bundle(
        image_emb=b.image_emb,
        image_label=b.image_label,
        image_is_train=b.image_is_train,
        class_names=b.class_names,
        class_text_emb=b.class_text_emb,
        dict_names=b.dict_names + ["far away"],
        dict_text_emb=np.vstack([b.dict_text_emb, far]),
    )
    after = _fit(b2, normal, lam, k).precompute(test, max_topk=k).external(k)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)


# ---- the loader never crashes on arbitrary arrays: it loads or raises BundleError ----------

float_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float16, np.float32, np.float64]),
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6),
    elements=st.floats(allow_nan=True, allow_infinity=True, width=16),
)
int_arrays = hnp.arrays(
    dtype=st.sampled_from([np.int64, np.int32, np.float32, np.bool_]),
    shape=hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=6),
)


@settings(max_examples=80, deadline=None)
@given(
    image_emb=float_arrays,
    labels=int_arrays,
    train=int_arrays,
    text=float_arrays,
    dict_emb=float_arrays,
    n_names=st.integers(0, 5),
    meta=st.sampled_from(['{"model": "x"}', "[]", "nope", '"str"']),
)
def test_loader_loads_or_raises_bundle_error(image_emb, labels, train, text, dict_emb, n_names, meta):
    buf = io.BytesIO()
    np.savez(
        buf,
        image_emb=image_emb,
        image_label=labels,
        image_is_train=train,
        class_names=np.array([f"c{i}" for i in range(n_names)], dtype=str),
        class_text_emb=text,
        dict_names=np.array([f"d{i}" for i in range(n_names)], dtype=str),
        dict_text_emb=dict_emb,
        meta=np.array(meta),
    )
    buf.seek(0)
    buf.name = "fuzz.npz"
    try:
        b = load_bundle(buf)
    except BundleError as exc:
        assert "fuzz.npz" in str(exc) and "\n" not in str(exc)
        return
    assert np.all(np.isfinite(b.image_emb))
    np.testing.assert_allclose(np.linalg.norm(b.image_emb, axis=1), 1, atol=1e-3)
    assert b.image_label.max() < len(b.class_names)
    json.dumps(b.meta)
