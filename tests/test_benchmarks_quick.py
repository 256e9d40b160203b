"""The benchmark suite runs, and the published-organisation baseline agrees with `bliss evaluate`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _env():
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@pytest.mark.slow
def test_benchmark_suite_quick_runs(tmp_path):
    """`benchmarks/run.py --quick` finishes and writes its JSON results (sizes are tiny)."""
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "run.py"),
            "--quick",
            "--only",
            "eval,grid,slider,startup",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=str(REPO),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "bliss_evaluate" in proc.stdout
    res = json.loads((REPO / "benchmarks" / "results" / "eval-quick.json").read_text())
    c = res["contenders"]
    assert c["bliss_evaluate"]["max_abs_auroc_diff_vs_baseline"] < 1e-6
    assert (
        json.loads((REPO / "benchmarks" / "results" / "startup-quick.json").read_text())[
            "torch_imported_by_evaluate"
        ]
        is False
    )


def test_baseline_published_agrees_with_bliss_evaluate(tmp_path):
    from bliss_core.core.bundle import save_bundle
    from bliss_core.core.simulate import make_simulated_bundle

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import baseline_published
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    path = save_bundle(
        make_simulated_bundle(train_per_class=60, test_per_class=40, dim=32, n_dict=80), tmp_path / "b.npz"
    )
    for setup, lam, k in (("6", 0.5, 10), ("1", 0.75, 3), ("9", 1.0, 1)):
        ref = baseline_published.run(str(path), (setup, None), lam, k)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "bliss_core",
                "evaluate",
                "--bundle",
                str(path),
                "--setup",
                setup,
                "--lam",
                str(lam),
                "--topk",
                str(k),
                "--json",
            ],
            capture_output=True,
            text=True,
            env=_env(),
            cwd=str(REPO),
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        ours = [s["auroc"] for s in json.loads(proc.stdout)["splits"]]
        np.testing.assert_allclose(ours, ref, atol=1e-6)
    # the heavier organisation (sort inside the loop) computes the same thing
    assert baseline_published.run(
        str(path), ("6", None), 0.5, 10, sort_per_class=True
    ) == baseline_published.run(str(path), ("6", None), 0.5, 10)


def test_evaluate_path_does_not_import_torch(tmp_path):
    from bliss_core.core.bundle import save_bundle
    from bliss_core.core.simulate import make_simulated_bundle

    path = save_bundle(
        make_simulated_bundle(train_per_class=20, test_per_class=10, dim=16, n_dict=30), tmp_path / "b.npz"
    )
    code = (
        "import sys, io, contextlib; from bliss_core.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): rc = main(['evaluate', '--bundle', %r, '--setup', '6'])\n"
        "print(rc, 'torch' in sys.modules)" % str(path)
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=str(REPO), timeout=60
    )
    assert out.stdout.split() == ["0", "False"], out.stderr


def test_projection_cache_memory_and_disk(tmp_path, monkeypatch):
    from bliss_core.analysis import projection as P

    monkeypatch.setenv("BLISS_PROJECTION_CACHE", str(tmp_path / "pc"))
    pts = np.random.default_rng(0).standard_normal((60, 8)).astype(np.float32)
    a = P.project(pts, "tsne", max_iter=250)
    assert a.shape == (60, 2) and np.isfinite(a).all()
    assert len(list((tmp_path / "pc").glob("*.npy"))) == 1
    assert P.project(pts, "tsne", max_iter=250) is a  # memory hit
    P._CACHE.clear()
    b = P.project(pts, "tsne", max_iter=250)  # disk hit: same numbers, no recomputation
    np.testing.assert_array_equal(a, b)
    monkeypatch.setenv("BLISS_PROJECTION_CACHE", "off")
    P._CACHE.clear()
    assert P.disk_cache_dir() is None
    assert P.project(pts, "pca").shape == (60, 2)
