"""Scale-out benchmarks (issue 12): every figure of BENCHMARKS.md's "Scale-out" section.

    python benchmarks/scale.py --full                       # the numbers (tens of minutes here)
    python benchmarks/scale.py --full --only ratio,live     # some sections
    python benchmarks/scale.py --quick                      # tiny sizes: checks that it all runs (CI)

Sections (``--only``):

* ``ratio``: ``bliss evaluate`` (one-class setup, one lambda and K) on 20,000 test images x
  20,000 dictionary entries against the bare similarity products and top-K partition of the
  same arrays (``scale.py bare``: numpy, the same row blocks, nothing else), whole processes,
  interleaved; and both again inside one process (imports and loading excluded).
* ``tests``: cost against the number of test images, 10,000 -> 1,000,000 (1,860 entries).
* ``dict``: cost against the number of dictionary entries, 1,860 -> 40,000 (20,000 test images).
* ``memory``: peak RSS of ``bliss evaluate`` against the bundle's array bytes: 1,000,000 test
  images x 40,000 entries (memory-mapped float16, one run), and 1,000,000 x 1,860 mapped and
  read into memory.
* ``live``: ``LiveScoring`` at 100,000 test images: set-up, memory and the time of a slider
  move (``LiveScoring.view``), 40 random (lambda, K).
* ``ray``: ``bliss embed`` throughput on CIFAR-10 JPEGs from ``../shared/data/cifar10.zip``
  (ViT-B-32, random weights), the local engine against Ray with 1 and 2 local workers.

Bundles are synthetic (``benchmarks/synth.py``: float16 image embeddings, D = 512, 10 classes
x 1,000 reference images), written to a temporary folder and deleted afterwards. Timings are
medians of ``--repeats`` whole-process runs (contenders interleaved); peak RSS is the child's
(``run.py``'s ``run_proc_rss``). Results go to ``benchmarks/results/scale-<section>-<mode>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from run import _env, machine, med, run_proc_rss

PY = sys.executable
RESULTS = HERE / "results"
CIFAR_ZIP = Path(os.environ.get("BLISS_SHARED_DATA", REPO.parent / "shared" / "data")) / "cifar10.zip"

SIZES = {
    "full": {
        "ratio": dict(test=20_000, dict=20_000),
        "tests": [10_000, 30_000, 100_000, 300_000, 1_000_000],
        "tests_dict": 1860,
        "dict": [1860, 5000, 10_000, 20_000, 40_000],
        "dict_tests": 20_000,
        "memory": [(1_000_000, 40_000)],
        "live": 100_000,
        "ray_per_class": 10,
        "classes": 10,
        "ref_per_class": 1000,
        "dim": 512,
    },
    "quick": {
        "ratio": dict(test=2000, dict=1500),
        "tests": [1000, 3000],
        "tests_dict": 300,
        "dict": [300, 900],
        "dict_tests": 1000,
        "memory": [(5000, 1000)],
        "live": 3000,
        "ray_per_class": 2,
        "classes": 10,
        "ref_per_class": 50,
        "dim": 64,
    },
}


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def loadavg() -> list[str]:
    try:
        return Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        return []


def bundle(tmp: Path, mode: str, n_test: int, n_dict: int) -> Path:
    """A synthetic float16 bundle of that size in ``tmp`` (written once per size)."""
    from synth import write_bundle

    s = SIZES[mode]
    path = tmp / f"synth-{n_test}x{n_dict}.npz"
    if not path.exists():
        write_bundle(path, n_test, n_dict, s["dim"], s["classes"], s["ref_per_class"], float16=True)
    return path


def array_bytes(path: Path) -> dict[str, int]:
    """Bytes of the bundle file and of its arrays as stored (read from the .npy headers)."""
    import zipfile

    from bliss_core.core.bundle import declared_sizes

    with zipfile.ZipFile(path) as zf:
        decl = declared_sizes(zf, str(path))
    sizes = {}
    for key, (shape, dtype) in decl.items():
        n = 1
        for d in shape:
            n *= d
        sizes[key] = n * dtype.itemsize
    return {
        "file": path.stat().st_size,
        "arrays": sum(sizes.values()),
        "image_emb": sizes["image_emb"],
        "dict_text_emb": sizes["dict_text_emb"],
    }


def evaluate_cmd(path: Path) -> list[str]:
    return [
        PY,
        "-m",
        "bliss_core",
        "evaluate",
        "--bundle",
        str(path),
        "--setup",
        "1",
        "--lam",
        "0.5",
        "--topk",
        "10",
        "--json",
        "--device",
        "cpu",
    ]


def bare_cmd(path: Path) -> list[str]:
    return [PY, str(HERE / "scale.py"), "bare", "--bundle", str(path)]


def summary(runs: list[dict]) -> dict[str, Any]:
    return {
        "median_wall_s": med([r["wall_s"] for r in runs]),
        "median_cpu_s": med([r["cpu_s"] for r in runs]),
        "max_rss_mib": max(r["maxrss_mib"] for r in runs),
        "wall_s": [r["wall_s"] for r in runs],
        "cpu_s": [r["cpu_s"] for r in runs],
    }


def linear_fit(xs: list[float], ys: list[float]) -> dict[str, Any]:
    """Least-squares ``y = a + b x`` and each point's ratio to it (1.0 = on the line)."""
    import numpy as np

    x, y = np.asarray(xs, float), np.asarray(ys, float)
    b, a = np.polyfit(x, y, 1)
    pred = a + b * x
    ss_res = float(((y - pred) ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
    return {
        "intercept_s": float(a),
        "slope_s_per_unit": float(b),
        "r2": 1 - ss_res / ss_tot,
        "ratio_to_fit": [float(v) for v in y / pred],
    }


# ------------------------------------------------------------------------------------------
# the bare computation (a whole process of its own: `scale.py bare --bundle B`)
# ------------------------------------------------------------------------------------------
def bare_products_topk(image_emb: Any, is_train: Any, dict_emb: Any, k: int = 10) -> float:
    """Test x dictionary products and the top-K partition, in the row blocks bliss uses: the
    floor any evaluation of these arrays pays. Returns seconds."""
    import numpy as np

    from bliss_core.core.kernels import PARTITION_BYTES, row_blocks, take_rows

    t = time.perf_counter()
    x = take_rows(image_emb, ~is_train)
    dt = np.ascontiguousarray(dict_emb, dtype=np.float32).T
    m = dt.shape[1]
    for blk in row_blocks(x.shape[0], m):
        sims = np.asarray(x[blk], dtype=np.float32) @ dt
        for sub in row_blocks(sims.shape[0], m, 8, PARTITION_BYTES):
            np.argpartition(sims[sub], m - k, axis=1)
    return time.perf_counter() - t


def cmd_bare(path: str) -> int:
    import numpy as np

    t = time.perf_counter()
    with np.load(path, allow_pickle=False) as npz:  # the arrays as stored, nothing checked
        image_emb, is_train, dict_emb = npz["image_emb"], npz["image_is_train"], npz["dict_text_emb"]
    load_s = time.perf_counter() - t
    print(json.dumps({"load_s": load_s, "compute_s": bare_products_topk(image_emb, is_train, dict_emb)}))
    return 0


def cmd_inproc(path: str, repeats: int) -> int:
    """Bare vs ``evaluate()`` in one process, after imports and loading, interleaved."""
    import numpy as np

    from bliss_core.core.bundle import load_bundle
    from bliss_core.core.evaluate import evaluate
    from bliss_core.core.metrics import auroc
    from bliss_core.core.splits import setup_splits

    b = load_bundle(path)
    auroc(np.array([True, False]), np.array([1.0, 0.0]))  # scikit-learn imported before timing
    splits = setup_splits("one-class", len(b.class_names))
    bare, ev = [], []
    for _ in range(repeats):
        bare.append(bare_products_topk(b.image_emb, b.image_is_train, b.dict_text_emb))
        t = time.perf_counter()
        evaluate(b, splits, [0.5], [10])
        ev.append(time.perf_counter() - t)
    print(json.dumps({"bare_s": bare, "evaluate_s": ev}))
    return 0


# ------------------------------------------------------------------------------------------
# sections
# ------------------------------------------------------------------------------------------
def bench_ratio(mode: str, tmp: Path, repeats: int) -> dict:
    s = SIZES[mode]["ratio"]
    path = bundle(tmp, mode, s["test"], s["dict"])
    contenders = {
        "bare_products_topk": bare_cmd(path),
        "bliss_evaluate": evaluate_cmd(path),
        "imports_numpy_sklearn": [PY, "-c", "import numpy, sklearn.metrics"],
    }
    runs: dict[str, list[dict]] = {k: [] for k in contenders}
    for _ in range(repeats):
        for name, cmd in contenders.items():
            runs[name].append(run_proc_rss(cmd))
    out: dict[str, Any] = {
        "sizes": s,
        "bytes": array_bytes(path),
        "setup": "one-class (10 splits)",
        "lam": 0.5,
        "topk": 10,
        "repeats": repeats,
        "contenders": {k: summary(v) for k, v in runs.items()},
    }
    out["contenders"]["bare_products_topk"]["compute_s"] = [
        json.loads(r["stdout"])["compute_s"] for r in runs["bare_products_topk"]
    ]
    c = out["contenders"]
    out["ratio_whole_process"] = (
        c["bliss_evaluate"]["median_wall_s"] / c["bare_products_topk"]["median_wall_s"]
    )
    out["ratio_whole_process_cpu"] = (
        c["bliss_evaluate"]["median_cpu_s"] / c["bare_products_topk"]["median_cpu_s"]
    )
    r = run_proc_rss([PY, str(HERE / "scale.py"), "inproc", "--bundle", str(path), "--repeats", str(repeats)])
    inproc = json.loads(r["stdout"].strip().splitlines()[-1])
    out["in_process"] = {
        **inproc,
        "median_bare_s": med(inproc["bare_s"]),
        "median_evaluate_s": med(inproc["evaluate_s"]),
        "ratio": med(inproc["evaluate_s"]) / med(inproc["bare_s"]),
    }
    out["auroc_mean"] = json.loads(runs["bliss_evaluate"][-1]["stdout"])["auroc_mean"]
    return out


def _sweep(mode: str, tmp: Path, repeats: int, sizes: list[tuple[int, int]], key: str) -> dict:
    rows = []
    for n_test, n_dict in sizes:
        path = bundle(tmp, mode, n_test, n_dict)
        ev, bare = [], []
        for _ in range(repeats):
            ev.append(run_proc_rss(evaluate_cmd(path), timeout=3600))
            bare.append(run_proc_rss(bare_cmd(path), timeout=3600))
        row = {
            "test_images": n_test,
            "dict_entries": n_dict,
            "bytes": array_bytes(path),
            "bliss_evaluate": summary(ev),
            "bare_products_topk": summary(bare),
            "loadavg": loadavg(),
        }
        row["ratio_to_bare"] = (
            row["bliss_evaluate"]["median_wall_s"] / row["bare_products_topk"]["median_wall_s"]
        )
        rows.append(row)
        print(
            f"  {key} {n_test} x {n_dict}: evaluate {row['bliss_evaluate']['median_wall_s']:.1f} s, "
            f"bare {row['bare_products_topk']['median_wall_s']:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    xs = [r["test_images"] if key == "tests" else r["dict_entries"] for r in rows]
    out = {
        "rows": rows,
        "repeats": repeats,
        "fit_evaluate_wall": linear_fit(xs, [r["bliss_evaluate"]["median_wall_s"] for r in rows]),
        "fit_evaluate_cpu": linear_fit(xs, [r["bliss_evaluate"]["median_cpu_s"] for r in rows]),
        "fit_bare_wall": linear_fit(xs, [r["bare_products_topk"]["median_wall_s"] for r in rows]),
    }
    return out


def bench_tests(mode: str, tmp: Path, repeats: int) -> dict:
    s = SIZES[mode]
    return _sweep(mode, tmp, repeats, [(n, s["tests_dict"]) for n in s["tests"]], "tests")


def bench_dict(mode: str, tmp: Path, repeats: int) -> dict:
    s = SIZES[mode]
    return _sweep(mode, tmp, repeats, [(s["dict_tests"], m) for m in s["dict"]], "dict")


def bench_memory(mode: str, tmp: Path, repeats: int) -> dict:
    rows = []
    s = SIZES[mode]
    cases = [(s["tests"][-1], s["tests_dict"], "mapped"), (s["tests"][-1], s["tests_dict"], "read")]
    cases += [(n, m, "mapped") for n, m in s["memory"]]
    for n_test, n_dict, how in cases:
        path = bundle(tmp, mode, n_test, n_dict)
        env = _env()
        env["BLISS_MMAP_MB"] = "1e9" if how == "read" else "1"
        r = run_proc_rss(evaluate_cmd(path), env=env, timeout=3600)
        b = array_bytes(path)
        rows.append(
            {
                "test_images": n_test,
                "dict_entries": n_dict,
                "image_emb": how,
                "bytes": b,
                "wall_s": r["wall_s"],
                "cpu_s": r["cpu_s"],
                "max_rss_mib": r["maxrss_mib"],
                "rss_over_array_bytes": r["maxrss_mib"] * 1024**2 / b["arrays"],
                "rss_minus_arrays_mib": r["maxrss_mib"] - b["arrays"] / 1024**2,
                "auroc_mean": json.loads(r["stdout"])["auroc_mean"],
                "loadavg": loadavg(),
            }
        )
        print(
            f"  memory {n_test} x {n_dict} ({how}): {r['maxrss_mib']:.0f} MiB peak, {r['wall_s']:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    imp = run_proc_rss([PY, "-c", "import numpy, sklearn.metrics"])
    return {"rows": rows, "imports_numpy_sklearn_rss_mib": imp["maxrss_mib"]}


def cmd_live(path: str, moves: int) -> int:
    import numpy as np

    from bliss_core.core.bundle import load_bundle
    from bliss_core.core.live import LiveScoring

    b = load_bundle(path)
    t = time.perf_counter()
    live = LiveScoring(b, [0, 1, 9, 7, 3, 2], max_topk=50)
    setup_s = time.perf_counter() - t
    pre = live.pre
    held = {
        "label_sim": pre.label_sim.nbytes,
        "topk_idx": pre.topk_idx.nbytes,
        "topk_sim": pre.topk_sim.nbytes,
        "ext_cumsum": pre.ext_cumsum.nbytes,
        "ext_cumsum_dtype": str(pre.ext_cumsum.dtype),
    }
    rng = np.random.default_rng(0)
    live.view(0.5, 10)
    times, score_ms = [], []
    for _ in range(moves):
        lam = float(rng.choice(np.arange(0, 3.01, 0.05)))
        k = int(rng.integers(1, live.max_topk + 1))
        t = time.perf_counter()
        live.view(lam, k)
        times.append(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        live.pre.scores(lam, k)
        score_ms.append(1000 * (time.perf_counter() - t))
    print(
        json.dumps(
            {
                "n_test": int(live.test_idx.size),
                "normal": [0, 1, 9, 7, 3, 2],
                "max_topk": 50,
                "setup_s": setup_s,
                "held_bytes": held,
                "view_ms": {
                    "p50": float(np.percentile(times, 50)),
                    "p95": float(np.percentile(times, 95)),
                    "max": float(max(times)),
                    "n_moves": moves,
                },
                "scores_only_ms": {
                    "p50": float(np.percentile(score_ms, 50)),
                    "p95": float(np.percentile(score_ms, 95)),
                },
            }
        )
    )
    return 0


def bench_live(mode: str, tmp: Path, repeats: int) -> dict:
    n = SIZES[mode]["live"]
    path = bundle(tmp, mode, n, SIZES[mode]["tests_dict"])
    runs = []
    for _ in range(repeats):
        r = run_proc_rss(
            [
                PY,
                str(HERE / "scale.py"),
                "live",
                "--bundle",
                str(path),
                "--moves",
                "40" if mode == "full" else "5",
            ],
            timeout=1800,
        )
        runs.append(
            {
                **json.loads(r["stdout"].strip().splitlines()[-1]),
                "process_max_rss_mib": r["maxrss_mib"],
                "bytes": array_bytes(path),
            }
        )
    return {
        "runs": runs,
        "median_view_p50_ms": med([r["view_ms"]["p50"] for r in runs]),
        "median_view_p95_ms": med([r["view_ms"]["p95"] for r in runs]),
        "median_setup_s": med([r["setup_s"] for r in runs]),
        "target_ms": 15,
    }


def cmd_ray_one(engine: str, workers: int, per_class: int, cache: str, words: str) -> int:
    from bliss_core.embed.pipeline import embed_dataset

    kw: dict[str, Any] = {}
    if engine == "ray":
        from bliss_core.scale.ray_engine import RayEngine

        kw["engine"] = RayEngine(workers=workers)
    t = time.perf_counter()
    b, rep = embed_dataset(
        f"zip:{CIFAR_ZIP}",
        model="ViT-B-32",
        pretrained="random",
        dictionary=words,
        device="cpu",
        batch_size=16,
        per_class_limit=per_class,
        cache_dir=cache,
        **kw,
    )
    total = time.perf_counter() - t
    print(
        json.dumps(
            {
                "engine": engine,
                "workers": workers,
                "images": rep.n_computed,
                "seconds": rep.seconds,
                "total_s": total,
                "images_per_s_image_stage": rep.n_computed / rep.seconds["images"],
                "ray": getattr(kw.get("engine"), "last_stats", None),
                "meta_engine": b.meta.get("engine"),
            }
        )
    )
    return 0


def bench_ray(mode: str, tmp: Path, repeats: int) -> dict:
    if not CIFAR_ZIP.exists():
        return {"skipped": f"{CIFAR_ZIP} is not available"}
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        return {"skipped": "ray is not installed (pip install bliss-lab[ray])"}
    words = tmp / "words.txt"
    words.write_text("cat\ndog\nship\ntruck\n")
    per_class = SIZES[mode]["ray_per_class"]
    contenders = {"local": ("local", 1), "ray_1_worker": ("ray", 1), "ray_2_workers": ("ray", 2)}
    runs: dict[str, list[dict]] = {k: [] for k in contenders}
    for rep in range(repeats):
        for name, (engine, workers) in contenders.items():
            cache = tmp / f"cache-{name}-{rep}"  # fresh: every image is computed
            r = run_proc_rss(
                [
                    PY,
                    str(HERE / "scale.py"),
                    "ray-one",
                    "--engine",
                    engine,
                    "--workers",
                    str(workers),
                    "--per-class",
                    str(per_class),
                    "--cache",
                    str(cache),
                    "--words",
                    str(words),
                ],
                timeout=1800,
            )
            runs[name].append(
                {
                    **json.loads(r["stdout"].strip().splitlines()[-1]),
                    "wall_s": r["wall_s"],
                    "cpu_s": r["cpu_s"],
                    "maxrss_mib": r["maxrss_mib"],
                    "loadavg": loadavg(),
                }
            )
            print(f"  ray {name}: {r['wall_s']:.0f} s", file=sys.stderr, flush=True)
    out: dict[str, Any] = {
        "images": runs["local"][0]["images"],
        "model": "ViT-B-32 (random weights)",
        "batch_size": 16,
        "repeats": repeats,
        "contenders": {},
    }
    for name, rs in runs.items():
        out["contenders"][name] = {
            "median_wall_s": med([r["wall_s"] for r in rs]),
            "median_image_stage_s": med([r["seconds"]["images"] for r in rs]),
            "median_images_per_s_image_stage": med([r["images_per_s_image_stage"] for r in rs]),
            "median_images_per_s_whole_process": med([r["images"] / r["wall_s"] for r in rs]),
            **(
                {
                    "median_ray_first_batch_s": med([r["ray"]["first_batch_s"] for r in rs]),
                    "median_ray_images_per_s_after_first_batch": med(
                        [r["ray"]["after_first_batch_images_per_s"] for r in rs]
                    ),
                }
                if rs[0].get("ray")
                else {}
            ),
            "runs": rs,
        }
    return out


SECTIONS = {
    "ratio": bench_ratio,
    "tests": bench_tests,
    "dict": bench_dict,
    "memory": bench_memory,
    "live": bench_live,
    "ray": bench_ray,
}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("bare", "inproc", "live", "ray-one"):
        ap = argparse.ArgumentParser(prog=f"scale.py {argv[0]}")
        ap.add_argument("--bundle")
        ap.add_argument("--repeats", type=int, default=3)
        ap.add_argument("--moves", type=int, default=40)
        ap.add_argument("--engine", default="local")
        ap.add_argument("--workers", type=int, default=1)
        ap.add_argument("--per-class", type=int, default=10)
        ap.add_argument("--cache")
        ap.add_argument("--words")
        a = ap.parse_args(argv[1:])
        if argv[0] == "bare":
            return cmd_bare(a.bundle)
        if argv[0] == "inproc":
            return cmd_inproc(a.bundle, a.repeats)
        if argv[0] == "live":
            return cmd_live(a.bundle, a.moves)
        return cmd_ray_one(a.engine, a.workers, a.per_class, a.cache, a.words)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--quick", action="store_true", help="tiny sizes; checks that everything runs (CI)")
    g.add_argument("--full", action="store_true", help="real sizes; the numbers")
    ap.add_argument(
        "--only",
        default=None,
        help=f"comma-separated sections of {', '.join(SECTIONS)} (default: all but ray with --quick)",
    )
    ap.add_argument(
        "--repeats", type=int, default=None, help="runs per measurement (default 3; 1 with --quick)"
    )
    ap.add_argument("--tmp", default=None, help="folder for the synthetic bundles (default: a temporary one)")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS/OpenMP threads of every measured process (default: the libraries' own choice); "
        "1 makes a shared machine's noise hit the contenders less",
    )
    a = ap.parse_args(argv)
    if a.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(a.threads)  # the children inherit it (run.py's _env copies os.environ)
    mode = "full" if a.full else "quick"
    repeats = a.repeats or (3 if mode == "full" else 1)
    only = a.only or ",".join(k for k in SECTIONS if mode == "full" or k != "ray")
    RESULTS.mkdir(parents=True, exist_ok=True)
    info = machine()
    with tempfile.TemporaryDirectory(prefix="bliss-scale-", dir=a.tmp) as tmpd:
        for sec in [s.strip() for s in only.split(",") if s.strip()]:
            if sec not in SECTIONS:
                ap.error(f"unknown section {sec!r}")
            t = time.perf_counter()
            r = SECTIONS[sec](mode, Path(tmpd), repeats)
            r.update(
                section_s=time.perf_counter() - t,
                mode=mode,
                machine={**info, "loadavg_end": loadavg()},
                threads=a.threads or "default",
                command="python benchmarks/scale.py " + " ".join(argv),
            )
            (RESULTS / f"scale-{sec}-{mode}.json").write_text(json.dumps(r, indent=1, default=str))
            print(
                f"[{sec}] done in {r['section_s']:.1f} s -> {RESULTS / f'scale-{sec}-{mode}.json'}",
                file=sys.stderr,
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
