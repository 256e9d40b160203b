"""Text clustering statistics against brute force, error-rate bins, and `bliss diagnose`."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import random_bundle

from bliss_core import make_simulated_bundle, save_bundle
from bliss_core.cli import main
from bliss_core.core.diagnostics import (
    avg_dict_similarity,
    clustering_stats,
    confusion_at,
    error_rates_by_dict_similarity,
    threshold_at_tpr,
)


def test_clustering_stats_match_brute_force():
    rng = np.random.default_rng(0)
    img = rng.standard_normal((40, 8)) + 2
    txt = rng.standard_normal((15, 8)) - 1
    u = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    i, t = u(img), u(txt)
    ii = i @ i.T
    tt = t @ t.T
    expected = {
        "image_image": ii[~np.eye(40, dtype=bool)].mean(),
        "text_text": tt[~np.eye(15, dtype=bool)].mean(),
        "image_text": (i @ t.T).mean(),
        "modality_gap": np.linalg.norm(i.mean(0) - t.mean(0)),
    }
    got = clustering_stats(img, txt)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-10)


def test_simulation_shows_text_clustering():
    stats = clustering_stats(*(lambda b: (b.image_emb, b.dict_text_emb))(make_simulated_bundle()))
    assert stats["text_text"] > stats["image_image"] > stats["image_text"]


def test_avg_dict_similarity_is_mean_of_similarities():
    b = random_bundle()
    np.testing.assert_allclose(
        avg_dict_similarity(b.image_emb, b.dict_text_emb),
        (b.image_emb @ b.dict_text_emb.T).mean(1),
        atol=1e-6,
    )


def test_threshold_and_confusion():
    y = np.array([0, 0, 0, 1, 1, 1, 1], bool)
    s = np.array([0.1, 0.5, 0.9, 0.2, 0.6, 0.7, 0.8])
    thr = threshold_at_tpr(y, s, tpr=0.75)
    assert thr == 0.6  # flags 3 of 4 anomalies
    c = confusion_at(y, s, thr)
    assert c["false_positives"].tolist() == [2]
    assert c["false_negatives"].tolist() == [3]


def test_error_rates_by_bins():
    sim = np.arange(8, dtype=float)
    y = np.array([1, 0, 1, 0, 1, 0, 1, 0], bool)
    s = np.array([0, 1, 0, 1, 1, 0, 1, 0], float)  # low-sim anomalies missed, low-sim normals flagged
    r = error_rates_by_dict_similarity(sim, y, s, threshold=0.5, n_bins=2)
    assert r["fn_rate"] == [1.0, 0.0] and r["fp_rate"] == [1.0, 0.0]
    assert r["n_anomalies"] == [2, 2]


def test_diagnose_writes_stats_and_figures(tmp_path, capsys):
    b = random_bundle(n_train=30, n_test=20)
    b.class_names[1] = '<img src=x onerror="alert(1)">'
    path = save_bundle(b, tmp_path / "b.npz")
    out = tmp_path / "diag"
    assert (
        main(["diagnose", "--bundle", str(path), "--out", str(out), "--projection", "pca", "--normal", "1"])
        == 0
    )
    stats = json.loads((out / "stats.json").read_text())
    expected = clustering_stats(b.image_emb, np.vstack([b.class_text_emb, b.dict_text_emb]))
    assert stats["clustering"]["labels_and_dictionary"]["text_text"] == pytest.approx(expected["text_text"])
    assert 0 <= stats["metrics"]["bliss"]["auroc"] <= 1
    for name in ("projection_pca", "similarity_histograms", "errors_vs_dict_similarity_internal", "roc"):
        html = (out / f"{name}.html").read_text()
        assert "plotly" in html.lower()
        assert "<img src=x onerror" not in html
    pngs = sorted(p.name for p in out.glob("*.png"))
    err = capsys.readouterr().err
    if shutil.which("chromium") or shutil.which("google-chrome"):
        try:
            import kaleido  # noqa: F401
        except ImportError:
            assert "PNG figures skipped" in err
        else:
            assert "projection_pca.png" in pngs
            assert (out / "projection_pca.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert pngs or "PNG figures skipped" in err


def test_diagnose_labels_untrained_bundles(tmp_path):
    b = random_bundle()
    b.meta["untrained"] = True
    path = save_bundle(b, tmp_path / "b.npz")
    main(["diagnose", "--bundle", str(path), "--out", str(tmp_path / "d"), "--projection", "pca"])
    assert "UNTRAINED" in (tmp_path / "d" / "roc.html").read_text()
    assert json.loads((tmp_path / "d" / "stats.json").read_text())["untrained"] is True
