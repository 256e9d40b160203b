"""The GPU benchmark scripts run end to end on CPU (``--device cpu``), so an accelerator is
never spent on a script that fails: ``benchmarks/gpu_score.py`` and ``benchmarks/gpu_embed.py``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("open_clip")

from tiny_clip import write_tiny_config

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_gpu_score_smoke_on_cpu(tmp_path):
    out = tmp_path / "gpu-score.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "gpu_score.py"),
            "--device",
            "cpu",
            "--test",
            "1200",
            "--dict",
            "300",
            "--repeats",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=REPO,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = json.loads(out.read_text())
    assert json.loads(proc.stdout)["device"] == "cpu" and rec["bundle_mapped"] is True
    assert set(rec["contenders"]) == {"numpy", "torch"}
    assert rec["max_abs_auroc_diff"] < 1e-9
    for c in rec["contenders"].values():
        assert c["evaluate_s"] > 0 and c["top_k_s"] > 0 and 0.5 < c["auroc_mean"] <= 1
    assert set(rec["speedup_torch_over_numpy"]) == {"fit", "top_k", "evaluate"}


def _jpeg(rng) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def test_gpu_embed_smoke_on_cpu(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "tiny.zip"
    with zipfile.ZipFile(data, "w") as zf:  # the CIFAR-10 zip's layout: */test/<class>/*.jpg
        for c in ("cat", "dog"):
            for i in range(3):
                zf.writestr(f"cifar/test/{c}/{i}.jpg", _jpeg(rng))
                zf.writestr(f"cifar/train/{c}/{i}.jpg", _jpeg(rng))
    cfg = write_tiny_config(tmp_path / "cfg")
    out = tmp_path / "gpu-embed.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "gpu_embed.py"),
            "--device",
            "cpu",
            "--data",
            str(data),
            "--models",
            str(cfg),
            "--batch-size",
            "4",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=REPO,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (rec,) = json.loads(out.read_text())
    assert rec["model"] == "bliss-tiny-test" and rec["device"].startswith("cpu") and rec["n_images"] == 6
    assert rec["finite"] and rec["unit_norm"] and rec["embedding_dim"] == 32
    assert rec["forward_only_images_per_s"] > 0 and rec["end_to_end_images_per_s"] > 0


def test_gpu_embed_without_cuda_says_so():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_embed.py")],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2 and "--device cpu" in proc.stderr


@pytest.mark.slow
def test_scale_benchmark_quick_runs():
    """`benchmarks/scale.py --quick` (tiny sizes) runs its sections and writes their JSON."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "scale.py"), "--quick", "--only", "ratio,tests,live"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = REPO / "benchmarks" / "results"
    ratio = json.loads((results / "scale-ratio-quick.json").read_text())
    assert ratio["ratio_whole_process"] > 0 and ratio["in_process"]["ratio"] > 0
    tests = json.loads((results / "scale-tests-quick.json").read_text())
    assert [r["test_images"] for r in tests["rows"]] == [1000, 3000] and "fit_evaluate_wall" in tests
    live = json.loads((results / "scale-live-quick.json").read_text())
    assert live["runs"][0]["n_test"] == 3000 and live["median_view_p95_ms"] > 0
