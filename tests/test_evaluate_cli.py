"""The protocol's splits, `bliss evaluate` / `bliss score` and their error paths."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import random_bundle

from bliss_core import evaluate, make_simulated_bundle, parse_normal_sets, save_bundle, setup_splits
from bliss_core.cli import main
from bliss_core.core.metrics import auroc
from bliss_core.core.splits import CIFAR10_ZOC_SPLITS, SplitError, validate_splits


@pytest.fixture(scope="module")
def sim_path(tmp_path_factory):
    return str(save_bundle(make_simulated_bundle(seed=0), tmp_path_factory.mktemp("sim") / "sim.npz"))


def test_setups():
    assert setup_splits("1", 10) == [[c] for c in range(10)]
    assert setup_splits("one-class", 3) == [[0], [1], [2]]
    loo = setup_splits("9", 10)
    assert len(loo) == 10 and all(len(s) == 9 and c not in s for c, s in enumerate(loo))
    assert setup_splits("6", 10) == CIFAR10_ZOC_SPLITS
    c100 = setup_splits("cifar100-20", 100)
    assert [s[0] for s in c100] == [0, 20, 40, 60, 80] and all(len(s) == 20 for s in c100)
    tin = setup_splits("tinyimagenet-cac", 200)
    assert len(tin) == 5 and tin[0][:3] == [192, 112, 145] and all(len(set(s)) == 20 for s in tin)
    with pytest.raises(SplitError, match="defined for 10 classes"):
        setup_splits("6", 4)
    with pytest.raises(SplitError, match="unknown setup"):
        setup_splits("7", 10)


def test_parse_and_validate_normal_sets():
    assert parse_normal_sets("0,1;2; 3,4") == [[0, 1], [2], [3, 4]]
    with pytest.raises(SplitError):
        parse_normal_sets("0,a")
    with pytest.raises(SplitError, match="empty split"):
        parse_normal_sets("0;;1")
    names = ["a", "b", "c"]
    with pytest.raises(SplitError, match="does not exist"):
        validate_splits([[5]], names)
    with pytest.raises(SplitError, match="no anomalies"):
        validate_splits([[0, 1, 2]], names)
    with pytest.raises(SplitError, match="twice"):
        validate_splits([[0, 0]], names)


def test_evaluate_matches_direct_auroc_per_split():
    b = random_bundle(seed=7)
    result = evaluate(b, [[0], [1, 2]], lams=[0.5], topks=[4])
    from bliss_core import BlissScorer

    test = ~b.image_is_train
    for row in result["splits"]:
        s = BlissScorer(lam=0.5, topk=4).fit_bundle(b, row["normal"]).decision_function(b.image_emb[test])
        y = ~np.isin(b.image_label[test], row["normal"])
        assert row["auroc"] == pytest.approx(auroc(y, s))
    assert result["auroc_mean"] == pytest.approx(np.mean([r["auroc"] for r in result["splits"]]))


def test_bliss_beats_internal_score_on_planted_bias(sim_path, capsys):
    """The planted text clustering effect is what BLISS corrects: it must win clearly."""
    assert (
        main(
            [
                "evaluate",
                "--bundle",
                sim_path,
                "--setup",
                "one-class",
                "--lam",
                "0,1",
                "--topk",
                "10",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    internal, bliss = out["results"]
    assert internal["lam"] == 0 and bliss["lam"] == 1
    assert bliss["auroc_mean"] > internal["auroc_mean"] + 0.1
    assert "splits" not in out  # two grid points: no top-level shortcut


def test_json_schema_single_point(sim_path, capsys):
    assert (
        main(["evaluate", "--bundle", sim_path, "--setup", "6", "--lam", "0.5", "--topk", "10", "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "bliss" and out["setup"] == "cifar10-zoc"
    assert len(out["splits"]) == 5 and out["splits"][0]["normal"] == [0, 1, 9, 7, 3, 2]
    for row in out["splits"]:
        assert 0 <= row["auroc"] <= 1 and 0 <= row["aupr"] <= 1 and 0 <= row["fpr95"] <= 1
    assert out["auroc_mean"] == out["results"][0]["auroc_mean"]


@pytest.mark.parametrize("method", ["maxsim", "knn", "mcm"])
def test_baselines_run(sim_path, capsys, method):
    assert (
        main(
            [
                "evaluate",
                "--bundle",
                sim_path,
                "--normal-sets",
                "0,1;2,3",
                "--lam",
                "0.5",
                "--topk",
                "10",
                "--method",
                method,
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == method and 0.5 < out["auroc_mean"] <= 1


def test_table_output_in_percent(sim_path, capsys):
    assert main(["evaluate", "--bundle", sim_path, "--normal-sets", "0", "--lam", "0.5", "--topk", "10"]) == 0
    out = capsys.readouterr().out
    line = [l for l in out.splitlines() if l.strip().startswith("airplane ")][0]
    value = float(line.split()[1])
    assert 50 < value <= 100 and f"{value:.1f}" == line.split()[1]


def test_grid_reuses_lambda_independent_work(sim_path, monkeypatch):
    from bliss_core.core.scorers import BlissScorer

    calls = []
    original = BlissScorer.precompute
    monkeypatch.setattr(
        BlissScorer, "precompute", lambda self, *a, **k: calls.append(1) or original(self, *a, **k)
    )
    b = make_simulated_bundle(seed=1)
    evaluate(b, setup_splits("one-class", 10), lams=[0, 0.5, 1, 2], topks=[1, 5, 10])
    assert calls == [1]


def test_score_writes_csv(sim_path, tmp_path):
    out = tmp_path / "scores.csv"
    assert (
        main(
            [
                "score",
                "--bundle",
                sim_path,
                "--normal",
                "0,3",
                "--lam",
                "0.5",
                "--topk",
                "10",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1000
    anomalous = [float(r["score"]) for r in rows if r["is_anomaly"] == "1"]
    normal = [float(r["score"]) for r in rows if r["is_anomaly"] == "0"]
    assert {r["class_name"] for r in rows if r["is_anomaly"] == "0"} == {"airplane", "cat"}
    assert np.mean(anomalous) > np.mean(normal)
    r = rows[0]
    assert float(r["score"]) == pytest.approx(float(r["internal"]) + 0.5 * float(r["external"]), abs=1e-5)


ERRORS = [
    (["evaluate", "--setup", "1", "--lam", "0.5", "--topk", "100000"], "larger than the dictionary"),
    (["evaluate", "--normal-sets", "42", "--lam", "0.5", "--topk", "10"], "does not exist"),
    (["evaluate", "--normal-sets", "0,1,2,3,4,5,6,7,8,9", "--lam", "0.5", "--topk", "10"], "no anomalies"),
    (["evaluate", "--setup", "1", "--lam", "-1", "--topk", "10"], "lambda"),
    (["evaluate", "--setup", "1", "--lam", "0.5", "--topk", "10", "--method", "mcm"], "at least two normal"),
    (["evaluate", "--setup", "cifar100-20", "--lam", "0.5", "--topk", "10"], "defined for 100 classes"),
    (["score", "--normal", "11", "--out", "x.csv"], "does not exist"),
]


@pytest.mark.parametrize("argv,match", ERRORS)
def test_cli_errors_are_one_line(sim_path, capsys, argv, match):
    argv = argv[:1] + ["--bundle", sim_path] + argv[1:]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bliss: error:") and match in err and "\n" not in err and "Traceback" not in err


def test_test_split_without_normal_images(tmp_path, capsys):
    b = random_bundle()
    b.image_is_train[b.image_label == 1] = True  # class 1 has no test images
    path = save_bundle(b, tmp_path / "b.npz")
    assert main(["evaluate", "--bundle", str(path), "--normal-sets", "1", "--lam", "0.5", "--topk", "3"]) == 2
    assert "no normal images" in capsys.readouterr().err


def test_cli_bad_bundle_subprocess_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("<html>not a bundle</html>")
    proc = subprocess.run(
        [sys.executable, "-m", "bliss_core", "evaluate", "--bundle", str(bad), "--setup", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and str(bad) in proc.stderr and "Traceback" not in proc.stderr


def test_evaluate_does_not_import_torch(sim_path):
    code = (
        "import sys; from bliss_core.cli import main; "
        f"rc = main(['evaluate', '--bundle', {sim_path!r}, '--setup', '1', '--json']); "
        "print('torch' in sys.modules, rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == "False 0"
