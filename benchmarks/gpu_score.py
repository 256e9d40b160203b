"""GPU scoring: ``evaluate``-sized BLISS scoring on the numpy path against the torch backend.

    python benchmarks/gpu_score.py [--device cuda] [--test 200000] [--dict 40000] [--dim 512]
                                   [--classes 10] [--ref-per-class 1000] [--repeats 3]
                                   [--out benchmarks/results/gpu-score.json]
    python benchmarks/gpu_score.py --device cpu       # smoke: tiny sizes, torch on CPU tensors (CI)

Meant for a machine with a CUDA GPU (an accelerator lent through the ``device`` tool); with
``--device cpu`` it runs end to end anywhere, small enough for CI. It writes a synthetic bundle
(``benchmarks/synth.py``: float16 image embeddings, memory-mapped when loaded) to a temporary
folder and, in one process, times each contender (numpy; torch on ``--device``), interleaved,
``--repeats`` times:

* ``fit``: the per-class statistics (``kernels.class_stats``);
* ``top_k``: test x dictionary similarities and each image's top K (``kernels.top_similar``);
* ``evaluate``: the whole ``bliss_core.core.evaluate.evaluate`` (one-class setup, one lambda
  and K, AUROC/AUPR/FPR95 per split), bundle already loaded.

It checks that both give the same AUROCs (``max_abs_auroc_diff``) and reports medians,
the speed-up of torch over numpy, images/s, and the machine. Prints and writes one JSON
object. CUDA time is measured with ``torch.cuda.synchronize`` around each timed call.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

SMOKE = dict(test=3000, dict=600, dim=64, classes=6, ref_per_class=200, repeats=2)
FULL = dict(test=200_000, dict=40_000, dim=512, classes=10, ref_per_class=1000, repeats=3)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _timed(fn, device: str) -> tuple[float, object]:
    _sync(device)
    t = time.perf_counter()
    out = fn()
    _sync(device)
    return time.perf_counter() - t, out


def run(
    device: str,
    test: int,
    n_dict: int,
    dim: int,
    classes: int,
    ref_per_class: int,
    repeats: int,
    topk: int = 10,
    lam: float = 0.5,
) -> dict:
    import numpy as np
    import torch
    from synth import write_bundle

    from bliss_core.core.bundle import load_bundle
    from bliss_core.core.evaluate import evaluate
    from bliss_core.core.kernels import NumpyKernels, take_rows
    from bliss_core.core.splits import setup_splits
    from bliss_core.scale.torch_backend import TorchKernels

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(
            "gpu_score: --device cuda but torch sees no CUDA GPU; use --device cpu for the smoke run."
        )
    rec: dict = {
        "device": device,
        "sizes": dict(
            test=test, dict=n_dict, dim=dim, classes=classes, ref_per_class=ref_per_class, topk=topk, lam=lam
        ),
        "repeats": repeats,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if device.startswith("cuda"):
        rec["gpu"] = torch.cuda.get_device_name(0)
    try:
        rec["loadavg_start"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    with tempfile.TemporaryDirectory(prefix="bliss-gpu-score-") as tmp:
        t = time.perf_counter()
        path = write_bundle(Path(tmp) / "b.npz", test, n_dict, dim, classes, ref_per_class, float16=True)
        rec["write_bundle_s"] = time.perf_counter() - t
        bundle = load_bundle(path, mmap=True)
        rec["bundle_mapped"] = bundle.mapped
        splits = setup_splits("one-class", classes)
        contenders = {"numpy": NumpyKernels(), "torch": TorchKernels(device)}
        tr = bundle.image_is_train
        ref, ref_lab = np.asarray(bundle.image_emb[tr]), bundle.image_label[tr]
        test_rows = take_rows(bundle.image_emb, ~tr)
        cls = np.unique(ref_lab)
        # warm-up (scikit-learn's import, CUDA context, cuBLAS handles, first allocations): not timed
        from bliss_core.core.metrics import auroc

        auroc(np.array([True, False]), np.array([1.0, 0.0]))
        small = take_rows(bundle.image_emb, np.flatnonzero(~tr)[:256])
        contenders["torch"].top_similar(small, bundle.dict_text_emb, topk)
        contenders["torch"].class_stats(
            ref[:512],
            ref_lab[:512],
            np.unique(ref_lab[:512]),
            bundle.class_text_emb,
            bundle.dict_text_emb[:256],
            1e-8,
        )
        runs: dict[str, dict[str, list[float]]] = {
            n: {"fit": [], "top_k": [], "evaluate": []} for n in contenders
        }
        results: dict[str, dict] = {}
        for _ in range(repeats):
            for name, kern in contenders.items():  # interleaved: load hits both alike
                s, _ = _timed(
                    lambda: kern.class_stats(
                        ref, ref_lab, cls, bundle.class_text_emb, bundle.dict_text_emb, 1e-8
                    ),
                    device,
                )
                runs[name]["fit"].append(s)
                s, _ = _timed(lambda: kern.top_similar(test_rows, bundle.dict_text_emb, topk), device)
                runs[name]["top_k"].append(s)
                s, res = _timed(lambda: evaluate(bundle, splits, [lam], [topk], backend=kern), device)
                runs[name]["evaluate"].append(s)
                results[name] = res
    out: dict = {}
    for name, parts in runs.items():
        med = {k: statistics.median(v) for k, v in parts.items()}
        out[name] = {
            **{f"{k}_s": v for k, v in med.items()},
            "runs": parts,
            "test_images_per_s": test / med["evaluate"],
            "auroc_mean": results[name]["auroc_mean"],
        }
    diffs = [
        abs(a["auroc"] - b["auroc"]) for a, b in zip(results["numpy"]["splits"], results["torch"]["splits"])
    ]
    rec["contenders"] = out
    rec["max_abs_auroc_diff"] = max(diffs)
    rec["speedup_torch_over_numpy"] = {
        k: out["numpy"][f"{k}_s"] / out["torch"][f"{k}_s"] for k in ("fit", "top_k", "evaluate")
    }
    try:
        rec["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    return rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu (smoke: tiny sizes)")
    for key in ("test", "dict", "dim", "classes", "ref_per_class", "repeats"):
        ap.add_argument(f"--{key.replace('_', '-')}", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    sizes = dict(SMOKE if a.device == "cpu" else FULL)
    for key in sizes:
        if getattr(a, key) is not None:
            sizes[key] = getattr(a, key)
    rec = run(
        a.device,
        sizes["test"],
        sizes["dict"],
        sizes["dim"],
        sizes["classes"],
        sizes["ref_per_class"],
        sizes["repeats"],
    )
    out = a.out or HERE / "results" / f"gpu-score-{'smoke' if a.device == 'cpu' else 'full'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=1))
    print(
        json.dumps(
            {k: v for k, v in rec.items() if k != "contenders"}
            | {
                "contenders": {
                    n: {k: v for k, v in c.items() if k != "runs"} for n, c in rec["contenders"].items()
                }
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
