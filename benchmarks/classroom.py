"""The classroom targets, measured on whole server processes (issue 9).

    python benchmarks/classroom.py                       # the app as it is now
    python benchmarks/classroom.py --baseline e181867    # and the app as of a commit, in turn
    python benchmarks/classroom.py --quick               # small sizes: checks that everything runs

On a CIFAR-10-sized bundle (50,000 reference and 10,000 test images, D = 512, 1,860 dictionary
entries; ``make_bundle.py``), ``streamlit run app.py`` with ``BLISS_BUNDLE`` set, this measures:

1. server CPU per slider move, one session (λ and K alternately, fresh values every move, and
   again revisiting a few values as a class moving in step does): /proc CPU time of the server
   divided by the moves;
2. 30 sessions moving λ or K every 0.5 s for 20 s: latency per move (p50, p95), errors, the
   server's peak memory;
3. Chromium: a λ key press to the page settled (the last DOM change after the key press, once
   the page has been quiet for 300 ms), median over 30 presses; optionally a Chromium
   performance trace (``--trace``);
4. switching pages in Chromium: a click in the sidebar to the page's title and its first
   figure, no script running;
5. server memory after one session and after thirty on the same bundle and classes (memory
   should grow with distinct bundles, not with sessions).

Sessions are real Streamlit sessions (``tests/streamlit_client.py`` speaks the websocket
protocol). Results go to ``benchmarks/results/classroom-<label>.json`` and are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from streamlit_client import Session, classroom, connect, cpu_seconds, p95, random_move, rss_mb
from streamlit_server import CHROMIUM, CHROMIUM_ARGS, running_streamlit

PAGE = "BLISS_scoring"
PAGES = {
    "home": "bliss-lab",
    "Embedding_space": "Embedding space",
    "Dictionary_similarity": "Dictionary similarity",
    "BLISS_scoring": "BLISS scoring",
    "Label_what_if": "Label what-if",
    "Compare": "Compare",
}


def _bundle(tmp: Path, quick: bool) -> Path:
    path = tmp / ("quick.npz" if quick else "cifar10_sized.npz")
    if not path.exists():
        args = (
            ["--train-per-class", "100", "--test-per-class", "60", "--dim", "64", "--n-dict", "200"]
            if quick
            else []
        )
        subprocess.run(
            [sys.executable, str(HERE / "make_bundle.py"), str(path), *args],
            check=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    return path


async def _one_session(port: int, pid: int, moves: int, revisit: bool) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    async with connect(port, open_timeout=120) as ws:
        s = Session(ws, PAGE)
        first = await s.run(timeout=600)
        for w in ({"λ": 0.55}, {"K": 11.0}):  # warm-up: imports, first fragment run
            await s.run(w)
        c0, lat = cpu_seconds(pid), []
        for i in range(moves):
            if revisit:
                w = {"λ": [0.25, 0.5, 0.75][i % 3]} if i % 2 else {"K": float([5, 10, 20][i % 3])}
            else:
                w = random_move(rng, i)
            lat.append(await s.run(w))
            await asyncio.sleep(0.05)
        cpu = cpu_seconds(pid) - c0
    lat_ms = sorted(1000 * x for x in lat)
    return {
        "moves": moves,
        "cpu_ms_per_move": round(1000 * cpu / moves, 2),
        "latency_ms_p50": round(statistics.median(lat_ms), 1),
        "latency_ms_p95": round(p95(lat_ms), 1),
        "first_load_s": round(first, 2),
        "errors": s.errors[:5],
    }


def _browser(url: str, presses: int, trace: Path | None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    with sync_playwright() as p:
        br = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = br.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{url}/{PAGE}")
        page.wait_for_selector("[data-testid=stSlider] input[type=range]", state="attached", timeout=180_000)
        page.wait_for_selector("[data-testid=blissLivePanel], [data-testid=stPlotlyChart]", timeout=180_000)
        time.sleep(2.0)
        page.evaluate("""() => {
            window.__bl = {t0: 0, last: 0};
            document.addEventListener('keydown', () => { window.__bl.t0 = performance.now(); window.__bl.last = 0; }, true);
            new MutationObserver(() => { window.__bl.last = performance.now(); })
              .observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
        }""")
        thumb = page.locator("[data-testid=stSlider] input[type=range]").first
        thumb.focus()
        if trace is not None:
            br.start_tracing(page=page, path=str(trace), screenshots=False)
        settled = []
        for i in range(presses):
            page.keyboard.press("ArrowRight" if (i // 5) % 2 == 0 else "ArrowLeft")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                t0, last, now = page.evaluate("() => [window.__bl.t0, window.__bl.last, performance.now()]")
                if last > t0 and now - last > 300:
                    settled.append(last - t0)
                    break
                time.sleep(0.03)
        if trace is not None:
            br.stop_tracing()
        out["key_press_to_settled_ms"] = {
            "median": round(statistics.median(settled), 1),
            "p95": round(p95(settled), 1),
            "n": len(settled),
        }
        # page switching: a sidebar click to the page's title, its first figure, and no script running
        switches: dict[str, list[float]] = {}
        for _ in range(3):
            for slug, title in PAGES.items():
                nav = page.locator("[data-testid=stSidebarNav] a")
                link = (
                    nav.first
                    if slug == "home"
                    else page.locator(f'[data-testid=stSidebarNav] a[href$="/{slug}"]').first
                )
                if link.count() == 0:  # a baseline from before the page existed
                    continue
                t = time.perf_counter()
                link.click()
                page.wait_for_function(
                    """(title) => { const h = document.querySelector('h1');
                        return h && h.innerText.includes(title) && !document.querySelector('[data-testid=stStatusWidget] svg')
                               && !document.querySelector('[data-testid=stSpinner]'); }""",
                    arg=title,
                    timeout=120_000,
                )
                switches.setdefault(slug, []).append(time.perf_counter() - t)
        out["page_switch_s"] = {k: round(statistics.median(v), 3) for k, v in switches.items()}
        br.close()
    return out


def measure(label: str, tree: Path, bundle: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {"BLISS_BUNDLE": str(bundle), "BLISS_LOG_LEVEL": "WARNING", "PYTHONPATH": str(tree)}
    result: dict[str, Any] = {"label": label, "tree": str(tree)}
    # from the tree's own folder, so that a baseline runs with its own .streamlit/config.toml
    with running_streamlit(
        tree / "app.py", env=env, log_name=f"classroom-{label}.log", timeout_s=180, cwd=tree
    ) as (url, proc, start_s):
        port, pid = int(url.rsplit(":", 1)[1]), proc.pid
        result["server_start_s"] = round(start_s, 2)
        result["rss_start_mb"] = round(rss_mb(pid), 1)
        result["one_session_fresh"] = asyncio.run(_one_session(port, pid, args.moves, revisit=False))
        result["one_session_revisit"] = asyncio.run(_one_session(port, pid, args.moves, revisit=True))
        result["rss_after_one_session_mb"] = round(rss_mb(pid), 1)
        stats = asyncio.run(classroom(port, pid, args.sessions, args.seconds))
        moves = sorted(1000 * x for x in stats["move_s"])
        result["class"] = {
            "sessions": args.sessions,
            "seconds": args.seconds,
            "moves": len(moves),
            "errors": stats["errors"][:10],
            "latency_ms_p50": round(statistics.median(moves), 1) if moves else None,
            "latency_ms_p95": round(p95(moves), 1) if moves else None,
            "server_cpu_ms_per_move": round(1000 * stats["server_cpu_s"] / max(len(moves), 1), 2),
            "rss_peak_mb": max(stats["rss_mb"] or [float("nan")]),
            "first_load_s_median": round(statistics.median(stats["first_load_s"]), 2)
            if stats["first_load_s"]
            else None,
        }
        result["rss_after_class_mb"] = round(rss_mb(pid), 1)
        result["rss_growth_per_session_mb"] = round(
            (result["rss_after_class_mb"] - result["rss_after_one_session_mb"]) / max(args.sessions - 1, 1), 2
        )
        if not args.no_browser and os.path.exists(CHROMIUM):
            trace = HERE / "results" / f"chromium-trace-{label}.json" if args.trace else None
            result.update(_browser(url, args.presses, trace))
    return result


def _tree_at(commit: str, tmp: Path) -> Path:
    """The repository as of ``commit``, exported into ``tmp`` (for a baseline in the same run)."""
    from benchmarks.run import git_tree

    folder = tmp / f"tree-{commit}"
    return folder if folder.exists() else git_tree(folder, commit)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--quick", action="store_true", help="small bundle and load, to check that everything runs"
    )
    ap.add_argument(
        "--baseline", default=None, help="also measure the app as of this commit (in turn, same run)"
    )
    ap.add_argument("--moves", type=int, default=150)
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--presses", type=int, default=30)
    ap.add_argument(
        "--trace", action="store_true", help="record a Chromium performance trace of the key presses"
    )
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--tmp", default=None, help="folder for the bundle (kept between runs)")
    args = ap.parse_args()
    if args.quick:
        args.moves, args.sessions, args.seconds, args.presses = 20, 4, 3.0, 5
    tmp = Path(args.tmp or tempfile.mkdtemp(prefix="bliss-classroom-"))
    tmp.mkdir(parents=True, exist_ok=True)
    bundle = _bundle(tmp, args.quick)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    runs = [measure("now", REPO, bundle, args)]
    (out / "classroom-now-partial.json").write_text(
        json.dumps(runs[0], indent=2)
    )  # kept if the baseline fails
    if args.baseline:
        runs.append(measure(args.baseline, _tree_at(args.baseline, tmp), bundle, args))
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "bundle": str(bundle),
        "runs": runs,
    }
    if args.baseline:
        a, b = runs
        report["ratios_baseline_over_now"] = {
            "cpu_per_move_fresh": round(
                b["one_session_fresh"]["cpu_ms_per_move"] / a["one_session_fresh"]["cpu_ms_per_move"], 2
            ),
            "class_p95": round(b["class"]["latency_ms_p95"] / a["class"]["latency_ms_p95"], 2),
        }
    (out / f"classroom-{'quick' if args.quick else 'full'}.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
