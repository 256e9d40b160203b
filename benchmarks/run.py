"""bliss-lab benchmark suite: one entry point for every figure in BENCHMARKS.md.

    python benchmarks/run.py --quick          # CI: tiny sizes, checks that everything runs (< 2 min)
    python benchmarks/run.py --full           # real sizes: the numbers in BENCHMARKS.md
    python benchmarks/run.py --full --only eval,grid --repeats 5

Sections (``--only``): eval (whole-process ``bliss evaluate`` vs the published script's
organisation, AUROC agreement, peak RSS), grid (cost of each extra (lambda, K) point), slider
(server-side cost of a lambda/K slider move), embed (``benchmarks/bench_embed.py``, when
present), proj (t-SNE / UMAP of ~12,000 points, cold and cached), startup (no torch on the
evaluation path, ``import bliss_core`` time, ``streamlit run app.py`` time to first page).

Every timing is a median over ``--repeats`` runs (3 by default; contenders interleaved, so
a noisy neighbour hurts all of them alike) and every ratio is taken against a baseline
measured in the same run. Results are written to ``benchmarks/results/<section>-<mode>.json``
(gitignored) and summarised as a table on stdout. Synthetic bundles are generated in a
temporary folder and deleted afterwards; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
PY = sys.executable
sys.path.insert(0, str(REPO))

SIZES = {
    # CIFAR-10 at real size: 50,000 reference + 10,000 test images, D=512, 1,860 entries
    "full": dict(train_per_class=5000, test_per_class=1000, dim=512, n_dict=1860),
    "quick": dict(train_per_class=100, test_per_class=60, dim=64, n_dict=200),
}
# The implementation before issue 4's optimisations, timed as "before" with --with-before.
BEFORE_COMMIT = "125a139"


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


TIME_BIN = "/usr/bin/time" if Path("/usr/bin/time").exists() else None


def run_proc_rss(
    cmd: list[str], env: dict[str, str] | None = None, timeout: float = 900, cwd: str | Path | None = None
) -> dict[str, Any]:
    """Run one whole process: wall seconds, CPU seconds and the exact peak RSS (MiB) of that
    child (``os.wait4``), plus its stdout and stderr. A non-zero exit raises RuntimeError."""
    # A forked child inherits this (large) process's RSS high-water mark, so ru_maxrss would be
    # floored at it; /usr/bin/time is small, and the command it forks reports its own peak.
    rss_file = None
    if TIME_BIN:
        fd, rss_file = tempfile.mkstemp(prefix="bliss-rss-")
        os.close(fd)
        cmd = [TIME_BIN, "-f", "%M", "-o", rss_file, *cmd]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env or _env(), cwd=str(cwd or REPO))
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                raise RuntimeError(f"{' '.join(cmd)} timed out after {timeout} s")
            time.sleep(0.002)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read().decode(), fe.read().decode()
    maxrss_kib = usage.ru_maxrss
    if rss_file:
        try:
            maxrss_kib = int(Path(rss_file).read_text().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
        os.unlink(rss_file)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-2000:]}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "maxrss_mib": maxrss_kib / 1024,
        "stdout": out,
        "stderr": err,
    }


def med(xs: list[float]) -> float:
    return float(statistics.median(xs))


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        info["mem_gib"] = round(int(Path("/proc/meminfo").read_text().split()[1]) / 1024**2, 1)
        info["loadavg_start"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    try:
        import numpy

        info["numpy"] = numpy.__version__
    except ImportError:
        pass
    return info


def make_bundle(folder: Path, mode: str, float16: bool = False) -> Path:
    from benchmarks.make_bundle import make

    return make(folder / f"bench-{mode}{'-f16' if float16 else ''}.npz", float16=float16, **SIZES[mode])


def git_tree(dest: Path, commit: str, *paths: str) -> Path:
    """The repository (or ``paths`` of it) as of ``commit``, exported into ``dest`` (git archive)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, *paths], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def before_tree(folder: Path) -> Path | None:
    """The pre-optimisation bliss_core, exported from git into ``folder`` (None if unavailable)."""
    try:
        return git_tree(folder / "before", BEFORE_COMMIT, "bliss_core")
    except (OSError, subprocess.CalledProcessError):
        return None


# ------------------------------------------------------------------------------------------
# 1 + 6: evaluation, whole processes, and its memory
# ------------------------------------------------------------------------------------------
def bench_eval(mode: str, tmp: Path, repeats: int, with_before: bool, with_sort_per_class: bool) -> dict:
    bundle = make_bundle(tmp, mode)
    setup = ["--setup", "6"]
    contenders: dict[str, tuple[list[str], dict[str, str]]] = {
        "baseline_published": (
            [PY, str(HERE / "baseline_published.py"), "--bundle", str(bundle), *setup, "--json"],
            _env(),
        ),
        "bliss_evaluate": (
            [PY, "-m", "bliss_core", "evaluate", "--bundle", str(bundle), *setup, "--json"],
            _env(),
        ),
    }
    if with_sort_per_class:
        contenders["baseline_sort_per_class"] = (
            contenders["baseline_published"][0] + ["--sort-per-class"],
            _env(),
        )
    cwds: dict[str, Path] = {}
    if with_before and (tree := before_tree(tmp)) is not None:
        env = dict(os.environ, PYTHONPATH=str(tree))
        contenders[f"bliss_evaluate_before_{BEFORE_COMMIT}"] = (
            [PY, "-m", "bliss_core", "evaluate", "--bundle", str(bundle), *setup, "--json"],
            env,
        )
        cwds[f"bliss_evaluate_before_{BEFORE_COMMIT}"] = tree  # `-m` puts the cwd first on sys.path
    runs: dict[str, list[dict]] = {k: [] for k in contenders}
    for _ in range(repeats):
        for name, (cmd, env) in contenders.items():
            runs[name].append(run_proc_rss(cmd, env=env, cwd=cwds.get(name)))

    def aurocs(name: str) -> list[float]:
        d = json.loads(runs[name][-1]["stdout"])
        return d["aurocs"] if "aurocs" in d else [s["auroc"] for s in d["splits"]]

    ref = aurocs("baseline_published")
    out: dict[str, Any] = {
        "bundle": SIZES[mode],
        "setup": "6 (cifar10-zoc)",
        "lam": 0.5,
        "topk": 10,
        "repeats": repeats,
        "contenders": {},
    }
    for name in contenders:
        a = aurocs(name)
        out["contenders"][name] = {
            "wall_s": [r["wall_s"] for r in runs[name]],
            "median_wall_s": med([r["wall_s"] for r in runs[name]]),
            "median_cpu_s": med([r["cpu_s"] for r in runs[name]]),
            "max_rss_mib": max(r["maxrss_mib"] for r in runs[name]),
            "cpu_s": [r["cpu_s"] for r in runs[name]],
            "aurocs": a,
            "max_abs_auroc_diff_vs_baseline": max(abs(x - y) for x, y in zip(a, ref)),
        }
    base = out["contenders"]["baseline_published"]["median_wall_s"]
    for name, c in out["contenders"].items():
        c["speedup_vs_baseline_published"] = base / c["median_wall_s"]
    if mode == "quick":
        return out
    # float16 bundle: same command, peak memory and time
    b16 = make_bundle(tmp, mode, float16=True)
    r16 = [
        run_proc_rss([PY, "-m", "bliss_core", "evaluate", "--bundle", str(b16), *setup, "--json"])
        for _ in range(repeats)
    ]
    out["bliss_evaluate_float16_bundle"] = {
        "median_wall_s": med([r["wall_s"] for r in r16]),
        "max_rss_mib": max(r["maxrss_mib"] for r in r16),
    }
    # interpreter + imports alone, for the "computation only" ratio
    imp = [run_proc_rss([PY, "-c", "import numpy, sklearn.metrics"]) for _ in range(repeats)]
    imp2 = [
        run_proc_rss([PY, "-c", "import bliss_core.cli, bliss_core.core.evaluate, bliss_core.core.bundle"])
        for _ in range(repeats)
    ]
    out["startup_baseline_imports_s"] = med([r["wall_s"] for r in imp])
    out["startup_bliss_imports_s"] = med([r["wall_s"] for r in imp2])
    return out


# ------------------------------------------------------------------------------------------
# 2: sweeps and sliders
# ------------------------------------------------------------------------------------------
def bench_grid(mode: str, tmp: Path, repeats: int) -> dict:
    from bliss_core.core.bundle import load_bundle
    from bliss_core.core.evaluate import evaluate
    from bliss_core.core.splits import CIFAR10_ZOC_SPLITS

    bundle = load_bundle(make_bundle(tmp, mode))
    lams = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0]
    topks = [1, 5, 10, 20, 50] if mode == "full" else [1, 5, 10, 20]
    n = len(lams) * len(topks)

    def timed(fn: Callable[[], Any]) -> float:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    one, many = [], []
    for _ in range(repeats):
        one.append(timed(lambda: evaluate(bundle, CIFAR10_ZOC_SPLITS, [0.5], [max(topks)])))
        many.append(timed(lambda: evaluate(bundle, CIFAR10_ZOC_SPLITS, lams, topks)))
    per_point = (med(many) - med(one)) / (n - 1)
    # What one extra grid point costs, timed directly (robust to noise in the shared fit):
    # for every split, the scores at (lambda, K) and their AUROC/AUPR/FPR95.
    from bliss_core.core.evaluate import split_test_labels
    from bliss_core.core.metrics import detection_metrics
    from bliss_core.core.scorers import BlissScorer

    train = bundle.image_is_train
    pre = (
        BlissScorer(class_text_emb=bundle.class_text_emb, dict_text_emb=bundle.dict_text_emb)
        .fit(bundle.image_emb[train], bundle.image_label[train])
        .precompute(bundle.image_emb[~train], max_topk=max(topks))
    )
    ys = [split_test_labels(bundle, sp) for sp in CIFAR10_ZOC_SPLITS]
    direct = []
    for lam in lams:
        for k in topks:
            t = time.perf_counter()
            for sp, y in zip(CIFAR10_ZOC_SPLITS, ys):
                detection_metrics(y, pre.scores(lam, k, classes=sp))
            direct.append(1000 * (time.perf_counter() - t))
    # the same as whole processes through the CLI
    path = make_bundle(tmp, mode)
    cmd1 = [
        PY,
        "-m",
        "bliss_core",
        "evaluate",
        "--bundle",
        str(path),
        "--setup",
        "6",
        "--json",
        "--lam",
        "0.5",
        "--topk",
        str(max(topks)),
    ]
    cmdn = [
        PY,
        "-m",
        "bliss_core",
        "evaluate",
        "--bundle",
        str(path),
        "--setup",
        "6",
        "--json",
        "--lam",
        ",".join(map(str, lams)),
        "--topk",
        ",".join(map(str, topks)),
    ]
    p1, pn = [], []
    for _ in range(repeats):
        p1.append(run_proc_rss(cmd1)["wall_s"])
        pn.append(run_proc_rss(cmdn)["wall_s"])
    return {
        "grid_points": n,
        "splits": 5,
        "lams": lams,
        "topks": topks,
        "repeats": repeats,
        "in_process": {
            "one_point_s": med(one),
            "n_points_s": med(many),
            "per_extra_point_ms": 1000 * per_point,
        },
        "per_point_direct_ms": {"median": med(direct), "max": max(direct), "n": len(direct)},
        "whole_process": {
            "one_point_s": med(p1),
            "n_points_s": med(pn),
            "per_extra_point_ms": 1000 * (med(pn) - med(p1)) / (n - 1),
        },
    }


def bench_slider(mode: str, tmp: Path, repeats: int) -> dict:
    import numpy as np

    from bliss_core.core.live import LiveScoring
    from bliss_core.core.simulate import make_simulated_bundle

    test_per_class = 1000 if mode == "full" else 60
    bundle = make_simulated_bundle(
        test_per_class=test_per_class,
        train_per_class=5000 if mode == "full" else 100,
        dim=512 if mode == "full" else 64,
        n_dict=1860 if mode == "full" else 200,
    )
    out: dict[str, Any] = {"n_test": 10 * test_per_class}
    t0 = time.perf_counter()
    live = LiveScoring(bundle, [0, 1, 9, 7, 3, 2], max_topk=50 if mode == "full" else 20)
    out["live_setup_s"] = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    live.view(0.5, 10)
    times = []
    for i in range(40 if mode == "full" else 10):
        lam = float(rng.choice(np.arange(0, 3.01, 0.05)))
        k = int(rng.integers(1, live.max_topk + 1))
        t = time.perf_counter()
        live.view(lam, k)
        times.append(1000 * (time.perf_counter() - t))
    out["live_view_ms"] = {
        "p50": float(np.percentile(times, 50)),
        "p95": float(np.percentile(times, 95)),
        "max": float(max(times)),
        "n_moves": len(times),
    }
    # the app's own code path: benchmarks/app_timing.py runs what the scoring page runs
    code = (
        "import json, sys, warnings, logging; warnings.filterwarnings('ignore'); logging.disable(logging.WARNING)\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "from app_timing import slider_update_timing as f\n"
        "print('@@' + json.dumps(f(n_moves=%d)))" % (40 if mode == "full" else 5)
    )
    if mode == "quick":
        out["app_slider_update_timing"] = "skipped in --quick (it builds a 10,000-image bundle)"
        return out
    try:
        r = run_proc_rss([PY, "-c", code], timeout=600)
        line = [ln for ln in r["stdout"].splitlines() if ln.startswith("@@")][-1]
        out["app_slider_update_timing"] = json.loads(line[2:])
    except (RuntimeError, IndexError, ValueError) as exc:
        out["app_slider_update_timing"] = f"not available: {str(exc)[:300]}"
    return out


# ------------------------------------------------------------------------------------------
# 3: embedding (benchmarks/bench_embed.py)
# ------------------------------------------------------------------------------------------
def bench_embed(mode: str, tmp: Path, repeats: int) -> dict:
    script = HERE / "bench_embed.py"
    if not script.exists():
        return {"skipped": "benchmarks/bench_embed.py is not present"}
    if mode == "quick":
        cmd = [PY, str(script), "--models", "ViT-B-32", "--n", "16", "--batch-size", "8"]
    else:
        cmd = [PY, str(script), "--models", "ViT-B-32", "ViT-B-16", "--n", "256", "--batch-size", "64"]
    try:
        r = run_proc_rss(cmd, timeout=1200)
    except RuntimeError as exc:
        return {"skipped": f"bench_embed.py failed: {str(exc)[-500:]}"}
    records = []
    for line in r["stdout"].splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:
                pass
    return {
        "command": " ".join(Path(c).name if c == PY else c for c in cmd),
        "records": records,
        "wall_s": r["wall_s"],
        "max_rss_mib": r["maxrss_mib"],
    }


# ------------------------------------------------------------------------------------------
# 5: projections
# ------------------------------------------------------------------------------------------
PROJ_SNIPPET = r"""
import json, os, sys, time, warnings
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
import numpy as np
from bliss_core.core.simulate import make_simulated_bundle
cfg = json.loads(sys.argv[1])
b = make_simulated_bundle(train_per_class=10, test_per_class=cfg["test_per_class"], dim=cfg["dim"], n_dict=cfg["n_dict"])
X = np.vstack([b.image_emb[~b.image_is_train], b.class_text_emb, b.dict_text_emb]).astype(np.float32)
t1 = time.perf_counter()
impl = cfg["impl"]
if impl == "project":   # bliss_core.analysis.projection.project: what the app and `bliss diagnose` call
    from bliss_core.analysis import projection as P
    warm = 0.0
    if cfg.get("warm"):  # the app's start-up warm-up (imports + numba compile), timed apart
        P.warm_up((cfg["method"],), background=False)
        warm = time.perf_counter() - t1
        t1 = time.perf_counter()
    Y = P.project(X, cfg["method"], seed=0, **cfg.get("params", {}))
    t2 = time.perf_counter()
    Y2 = P.project(X, cfg["method"], seed=0, **cfg.get("params", {}))
    t3 = time.perf_counter()
    extra = {"memory_cached_s": t3 - t2, "warm_up_s": warm}
elif impl == "sklearn_tsne":
    from sklearn.manifold import TSNE
    Y = TSNE(2, init="pca", learning_rate="auto", metric="cosine", random_state=0, max_iter=cfg["max_iter"]).fit_transform(X)
    extra = {}
elif impl == "sklearn_tsne_pca50":
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    Z = PCA(50, random_state=0).fit_transform(X)
    Y = TSNE(2, init="pca", learning_rate="auto", random_state=0, max_iter=cfg["max_iter"]).fit_transform(Z)
    extra = {}
elif impl == "opentsne":
    from openTSNE import TSNE
    Z = X
    if cfg.get("pca50"):
        from sklearn.decomposition import PCA
        Z = PCA(50, random_state=0).fit_transform(X / np.linalg.norm(X, axis=1, keepdims=True))
    Y = np.asarray(TSNE(2, metric="euclidean" if cfg.get("pca50") else "cosine", initialization=cfg.get("init", "pca"),
                        n_iter=cfg.get("n_iter", 500), random_state=0, n_jobs=1,
                        negative_gradient_method="fft").fit(Z))
    extra = {}
elif impl == "umap":
    import umap
    Y = umap.UMAP(n_components=2, metric="cosine", init=cfg.get("init", "spectral"), n_epochs=cfg.get("n_epochs"),
                  random_state=0).fit_transform(X)
    extra = {}
t2 = time.perf_counter() if impl != "project" else t2
print("@@" + json.dumps({"n_points": len(X), "data_s": t1 - t0, "compute_s": t2 - t1, "finite": bool(np.isfinite(Y).all()), **extra}))
"""


def bench_proj(mode: str, tmp: Path, repeats: int, heavy: bool, with_umap: bool = False) -> dict:
    base = (
        {"test_per_class": 1000, "dim": 512, "n_dict": 1860}
        if mode == "full"
        else {"test_per_class": 30, "dim": 32, "n_dict": 60}
    )
    cache = tmp / "projcache"
    configs: list[tuple[str, dict]] = [
        (
            "project tsne (bliss: PCA-50 + openTSNE FFT, exact kNN, 125+250 it)",
            {"impl": "project", "method": "tsne"},
        ),
        ("project pca", {"impl": "project", "method": "pca"}),
    ]
    if mode == "full" or with_umap:
        configs += [
            (
                "project umap cold (bliss: cosine, init=pca, 200 epochs; incl. numba JIT)",
                {"impl": "project", "method": "umap"},
            ),
            (
                "project umap after warm_up() (JIT paid at app start)",
                {"impl": "project", "method": "umap", "warm": True},
            ),
        ]
    if mode == "full":
        configs += [
            (
                "sklearn TSNE PCA-50 first, barnes_hut, pca init, 250 it",
                {"impl": "sklearn_tsne_pca50", "max_iter": 250},
            ),
            ("openTSNE defaults on PCA-50 (annoy kNN, 250+500 it)", {"impl": "opentsne", "pca50": True}),
            (
                "umap cosine init=spectral, default epochs (previous default)",
                {"impl": "umap", "init": "spectral"},
            ),
        ]
        if heavy:
            configs.insert(
                2,
                (
                    "sklearn TSNE barnes_hut cosine on 512-D, pca init, 500 it (previous default)",
                    {"impl": "sklearn_tsne", "max_iter": 500},
                ),
            )
    out: dict[str, Any] = {"points": None, "configs": {}}
    for label, cfg in configs:
        cfg = {**base, **cfg}
        reps = 1 if mode == "quick" or cfg["impl"] != "project" or cfg["method"] == "umap" else repeats
        rows = []
        for i in range(reps):
            if cfg["impl"] == "project":
                shutil.rmtree(cache, ignore_errors=True)  # cold: nothing cached on disk
            env = dict(_env(), BLISS_PROJECTION_CACHE=str(cache))
            r = run_proc_rss([PY, "-c", PROJ_SNIPPET, json.dumps(cfg)], env=env, timeout=1800)
            rec = json.loads([ln for ln in r["stdout"].splitlines() if ln.startswith("@@")][-1][2:])
            rec["process_wall_s"] = r["wall_s"]
            if cfg["impl"] == "project" and cfg["method"] != "pca" and not cfg.get("warm"):
                # a new process with the disk cache warm: a page revisit after a restart
                r2 = run_proc_rss([PY, "-c", PROJ_SNIPPET, json.dumps(cfg)], env=env, timeout=600)
                rec2 = json.loads([ln for ln in r2["stdout"].splitlines() if ln.startswith("@@")][-1][2:])
                rec["disk_cached_compute_s"] = rec2["compute_s"]
            rows.append(rec)
        out["points"] = rows[0]["n_points"]
        summary = {
            k: med([r[k] for r in rows])
            for k in rows[0]
            if isinstance(rows[0][k], (int, float)) and not isinstance(rows[0][k], bool)
        }
        summary["runs"] = len(rows)
        summary["finite"] = all(r["finite"] for r in rows)
        out["configs"][label] = summary
    return out


# ------------------------------------------------------------------------------------------
# 7: start-up
# ------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_startup(mode: str, tmp: Path, repeats: int, browser: bool) -> dict:
    bundle = make_bundle(tmp, "quick")
    code = (
        "import sys; from bliss_core.cli import main; import io, contextlib\n"
        "with contextlib.redirect_stdout(io.StringIO()): rc = main(['evaluate', '--bundle', %r, '--setup', '6'])\n"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'open_clip', 'sklearn', 'umap', 'streamlit', 'numba') if m in sys.modules)\n"
        "print('@@' + ','.join(heavy)); sys.exit(rc)" % str(bundle)
    )
    r = run_proc_rss([PY, "-c", code])
    heavy = [m for m in r["stdout"].split("@@")[-1].strip().split(",") if m]
    imp = [run_proc_rss([PY, "-c", "import bliss_core"])["wall_s"] for _ in range(repeats)]
    bare = [run_proc_rss([PY, "-c", "pass"])["wall_s"] for _ in range(repeats)]
    out: dict[str, Any] = {
        "modules_imported_by_evaluate": heavy,
        "torch_imported_by_evaluate": "torch" in heavy,
        "import_bliss_core_s": med(imp),
        "python_bare_s": med(bare),
    }
    app = REPO / "app.py"
    if not app.exists():
        out["streamlit"] = "skipped: app.py is not present"
        return out
    if mode == "quick":
        out["streamlit"] = "skipped in --quick"
        return out
    out["streamlit"] = _bench_streamlit(repeats, browser)
    return out


def _bench_streamlit(repeats: int, browser: bool) -> dict:
    """Seconds from `streamlit run app.py` process start to HTTP 200 on / and, with a browser
    already open (its launch is not counted), to the home page showing the simulation."""
    import urllib.request

    pw = ctx = None
    if browser:
        try:
            from playwright.sync_api import sync_playwright

            pw = sync_playwright().start()
            exe = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
            ctx = pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        except Exception as exc:
            browser_error = f"browser unavailable: {str(exc)[:200]}"
            pw = ctx = None
    rows = []
    try:
        for _ in range(repeats):
            port = _free_port()
            page = ctx.new_page() if ctx else None
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [
                    PY,
                    "-m",
                    "streamlit",
                    "run",
                    str(REPO / "app.py"),
                    "--server.headless",
                    "true",
                    "--server.port",
                    str(port),
                    "--browser.gatherUsageStats",
                    "false",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=_env(),
                cwd=str(REPO),
            )
            rec: dict[str, Any] = {}
            try:
                while time.perf_counter() - t0 < 60:
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as resp:
                            if resp.status == 200:
                                rec["http_200_s"] = time.perf_counter() - t0
                                break
                    except OSError:
                        time.sleep(0.05)
                if page is not None and "http_200_s" in rec:
                    try:
                        page.goto(f"http://127.0.0.1:{port}/", timeout=60000)
                        page.get_by_text("2 · Normal classes").first.wait_for(timeout=60000)
                        rec["home_rendered_s"] = time.perf_counter() - t0
                    except Exception as exc:
                        rec["home_rendered"] = f"failed: {str(exc)[:200]}"
            finally:
                if page is not None:
                    page.close()
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            rows.append(rec)
    finally:
        if ctx is not None:
            ctx.close()
        if pw is not None:
            pw.stop()
    out: dict[str, Any] = {"runs": rows}
    if browser and ctx is None and pw is None and "browser_error" in locals():
        out["browser"] = browser_error
    for key in ("http_200_s", "home_rendered_s"):
        vals = [r[key] for r in rows if key in r]
        if vals:
            out[f"median_{key}"] = med(vals)
    return out


# ------------------------------------------------------------------------------------------
# table
# ------------------------------------------------------------------------------------------
def table(res: dict) -> str:
    rows: list[tuple[str, str, str]] = []
    if "eval" in res:
        e = res["eval"]
        c = e["contenders"]
        b = c["baseline_published"]
        for name, v in c.items():
            rows.append(
                (
                    f"evaluate: {name}",
                    f"{v['median_wall_s']:.2f} s (peak {v['max_rss_mib']:.0f} MiB)",
                    f"x{v['speedup_vs_baseline_published']:.2f} vs published; max |dAUROC| {v['max_abs_auroc_diff_vs_baseline']:.1e}",
                )
            )
        ours = c["bliss_evaluate"]["median_wall_s"]
    if "eval" in res and "startup_bliss_imports_s" in res["eval"]:
        e = res["eval"]
        c = e["contenders"]
        b = c["baseline_published"]
        ours = c["bliss_evaluate"]["median_wall_s"]
        comp_b = b["median_wall_s"] - e["startup_baseline_imports_s"]
        comp_o = ours - e["startup_bliss_imports_s"]
        rows.append(
            (
                "evaluate: computation only (minus imports)",
                f"{comp_o:.2f} s vs {comp_b:.2f} s",
                f"x{comp_b / comp_o:.1f}",
            )
        )
        f16 = e["bliss_evaluate_float16_bundle"]
        rows.append(
            (
                "evaluate: float16 bundle",
                f"{f16['median_wall_s']:.2f} s",
                f"peak {f16['max_rss_mib']:.0f} MiB",
            )
        )
    if "grid" in res:
        g = res["grid"]
        rows.append(
            (
                f"grid: per extra (lambda,K) point, in-process ({g['grid_points']} pts)",
                f"{g['in_process']['per_extra_point_ms']:.1f} ms",
                "target <= 60 ms",
            )
        )
        rows.append(
            ("grid: per extra point, whole process", f"{g['whole_process']['per_extra_point_ms']:.1f} ms", "")
        )
        if "per_point_direct_ms" in g:
            d = g["per_point_direct_ms"]
            rows.append(
                (
                    "grid: one point's scores + metrics, 5 splits (direct)",
                    f"{d['median']:.1f} ms median",
                    f"max {d['max']:.1f} ms",
                )
            )
    if "slider" in res:
        s = res["slider"]
        rows.append(
            (
                f"slider: LiveScoring.view, {s['n_test']} test",
                f"p95 {s['live_view_ms']['p95']:.1f} ms",
                f"p50 {s['live_view_ms']['p50']:.1f} ms",
            )
        )
        a = s.get("app_slider_update_timing")
        if isinstance(a, dict):
            rows.append(
                (
                    f"slider: app slider_update_timing, {a.get('n_test')} test",
                    f"p95 {a['p95']:.1f} ms",
                    f"p50 {a['p50']:.1f} ms; target <= 100 ms",
                )
            )
        elif a:
            rows.append(("slider: app slider_update_timing", str(a)[:60], ""))
    if "embed" in res:
        em = res["embed"]
        if "records" in em:
            for r in em["records"]:
                rows.append(
                    (
                        f"embed: {r.get('model', '?')}",
                        json.dumps({k: v for k, v in r.items() if "per_s" in k or "images_s" in k})[:70],
                        "",
                    )
                )
        else:
            rows.append(("embed", em.get("skipped", ""), ""))
    if "proj" in res:
        for label, v in res["proj"]["configs"].items():
            extra = (
                f"disk-cached {v['disk_cached_compute_s'] * 1000:.0f} ms"
                if "disk_cached_compute_s" in v
                else ""
            )
            if "memory_cached_s" in v:
                extra += f" mem-cached {v['memory_cached_s'] * 1000:.1f} ms"
            if v.get("warm_up_s"):
                extra += f" (warm-up {v['warm_up_s']:.1f} s not counted)"
            rows.append(
                (
                    f"proj ({res['proj']['points']} pts): {label}",
                    f"{v['process_wall_s']:.1f} s process, {v['compute_s']:.1f} s compute",
                    extra,
                )
            )
    if "startup" in res:
        st = res["startup"]
        rows.append(
            (
                "startup: modules imported by `bliss evaluate`",
                ",".join(st["modules_imported_by_evaluate"]) or "none of torch/sklearn/umap/streamlit",
                "",
            )
        )
        rows.append(
            (
                "startup: python -c 'import bliss_core'",
                f"{st['import_bliss_core_s']:.2f} s",
                f"bare python {st['python_bare_s']:.2f} s",
            )
        )
        s = st.get("streamlit")
        if isinstance(s, dict):
            rows.append(
                (
                    "startup: streamlit run app.py -> HTTP 200",
                    f"{s.get('median_http_200_s', float('nan')):.1f} s",
                    "",
                )
            )
            if "median_home_rendered_s" in s:
                rows.append(
                    (
                        "startup: -> home page rendered (browser)",
                        f"{s['median_home_rendered_s']:.1f} s",
                        "target < 5 s",
                    )
                )
        elif s:
            rows.append(("startup: streamlit", str(s), ""))
    w = max(len(r[0]) for r in rows) if rows else 10
    return "\n".join(f"{a:<{w}}  {b:<34}  {c}" for a, b, c in rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--quick", action="store_true", help="tiny sizes; checks that everything runs (CI)")
    g.add_argument("--full", action="store_true", help="real sizes; the numbers")
    ap.add_argument(
        "--only", default=None, help="comma-separated sections (default: all; --quick skips embed)"
    )
    ap.add_argument(
        "--with-umap", action="store_true", help="--quick: also run UMAP (its numba compile takes ~30 s)"
    )
    ap.add_argument(
        "--repeats", type=int, default=None, help="runs per measurement (default 3; 1 with --quick)"
    )
    ap.add_argument(
        "--with-before", action="store_true", help=f"also time bliss_core as of commit {BEFORE_COMMIT}"
    )
    ap.add_argument(
        "--with-sort-per-class",
        action="store_true",
        help="also time the baseline with the full sort inside the split x class loop (~1 min a run)",
    )
    ap.add_argument(
        "--heavy-tsne",
        action="store_true",
        help="also time sklearn's t-SNE on the raw 512-D points (~1-2 min)",
    )
    ap.add_argument("--no-browser", action="store_true", help="skip the Playwright page-render timing")
    a = ap.parse_args(argv)
    mode = "full" if a.full else "quick"
    repeats = a.repeats or (3 if mode == "full" else 1)
    only = a.only or (
        "eval,grid,slider,proj,startup" if mode == "quick" else "eval,grid,slider,embed,proj,startup"
    )
    sections = [s.strip() for s in only.split(",") if s.strip()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    info = machine()
    with tempfile.TemporaryDirectory(prefix="bliss-bench-") as tmpd:
        tmp = Path(tmpd)
        for sec in sections:
            t = time.perf_counter()
            if sec == "eval":
                r = bench_eval(mode, tmp, repeats, a.with_before, a.with_sort_per_class)
            elif sec == "grid":
                r = bench_grid(mode, tmp, repeats)
            elif sec == "slider":
                r = bench_slider(mode, tmp, repeats)
            elif sec == "embed":
                r = bench_embed(mode, tmp, repeats)
            elif sec == "proj":
                r = bench_proj(mode, tmp, repeats, a.heavy_tsne, a.with_umap)
            elif sec == "startup":
                r = bench_startup(mode, tmp, repeats, browser=not a.no_browser)
            else:
                ap.error(f"unknown section {sec!r}")
            r["section_s"] = time.perf_counter() - t
            r["machine"] = {**info, "loadavg_end": Path("/proc/loadavg").read_text().split()[:3]}
            r["mode"] = mode
            r["command"] = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
            results[sec] = r
            (RESULTS / f"{sec}-{mode}.json").write_text(json.dumps(r, indent=1, default=str))
            print(f"[{sec}] done in {r['section_s']:.1f} s", file=sys.stderr, flush=True)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
