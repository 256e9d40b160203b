"""Load test: many concurrent app sessions on one server, on loopback only.

Each session is a real Streamlit session: a websocket client speaking the app's own protocol
(the protobuf messages the browser sends), so the server does exactly the work it does for a
browser, while the test machine is not swamped by 20 Chromium renderers. Each session opens
the BLISS scoring page with the simulation (the default source), then moves the lambda and K
sliders for a bounded time. The test fails on any exception or error shown to a session, when
a session's AUROC does not follow its sliders, and when the server's resident memory grows
past a bound. Figures (latency per slider move, server memory) go to
``test-artifacts/load.json`` and are printed.

Knobs: ``BLISS_LOAD_SESSIONS`` (default 20), ``BLISS_LOAD_SECONDS`` (default 30 per session),
``BLISS_LOAD_MAX_RSS_MB`` (default 2048).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit_client import Session
from streamlit_server import running_streamlit

REPO = Path(__file__).resolve().parents[1]
SESSIONS = int(os.environ.get("BLISS_LOAD_SESSIONS", "20"))
SECONDS = float(os.environ.get("BLISS_LOAD_SECONDS", "30"))
MAX_RSS_MB = float(os.environ.get("BLISS_LOAD_MAX_RSS_MB", "2048"))
PAGE = "BLISS_scoring"

pytestmark = pytest.mark.slow
websockets = pytest.importorskip("websockets")


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@pytest.fixture(scope="module")
def server():
    with running_streamlit("app.py", env={"BLISS_BUNDLE": "", "BLISS_LOG_LEVEL": "WARNING"}) as (url, proc, _):
        yield int(url.rsplit(":", 1)[1]), proc


async def _session(port: int, i: int, stats: dict) -> None:
    rng = np.random.default_rng(i)
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                                      max_size=None, open_timeout=60) as ws:
            s = Session(ws, PAGE)
            stats["first_load_s"].append(await s.run())
            if "λ" not in s.sliders or "K" not in s.sliders:
                stats["errors"].append(f"session {i}: the sliders were not found")
                return
            seen = {s.metrics.get("BLISS AUROC")}
            stop_at = time.time() + SECONDS
            while time.time() < stop_at:
                lam = float(np.round(rng.uniform(0, 3) / 0.05) * 0.05)
                topk = float(rng.integers(1, 51))
                stats["move_s"].append(await s.run({"λ": lam, "K": topk}))
                seen.add(s.metrics.get("BLISS AUROC"))
                await asyncio.sleep(0.2)  # a person drags more slowly than a loop
            stats["distinct_auroc"].append(len(seen))
            stats["errors"].extend(f"session {i}: {e}" for e in s.errors)
    except Exception as exc:  # noqa: BLE001 - reported below
        stats["errors"].append(f"session {i}: {type(exc).__name__}: {exc}")


async def _load(port: int, pid: int) -> dict:
    stats: dict = {"first_load_s": [], "move_s": [], "distinct_auroc": [], "errors": [], "rss_mb": []}
    tasks = [asyncio.create_task(_session(port, i, stats)) for i in range(SESSIONS)]

    async def sample():
        while not all(t.done() for t in tasks):
            stats["rss_mb"].append(round(_rss_mb(pid), 1))
            await asyncio.sleep(0.5)

    start = time.time()
    await asyncio.gather(sample(), *tasks)
    stats["seconds"] = round(time.time() - start, 1)
    return stats


def test_concurrent_sessions_move_sliders_without_errors(server):
    port, proc = server
    rss_idle = _rss_mb(proc.pid)
    stats = asyncio.run(_load(port, proc.pid))
    moves = np.array(stats["move_s"]) * 1000
    summary = {
        "sessions": SESSIONS,
        "seconds_per_session": SECONDS,
        "wall_s": stats["seconds"],
        "slider_moves": int(moves.size),
        "move_ms_p50": round(float(np.median(moves)), 1) if moves.size else None,
        "move_ms_p95": round(float(np.percentile(moves, 95)), 1) if moves.size else None,
        "first_load_s_median": round(float(np.median(stats["first_load_s"])), 2) if stats["first_load_s"] else None,
        "rss_idle_mb": round(rss_idle, 1),
        "rss_peak_mb": max(stats["rss_mb"] or [float("nan")]),
        "rss_end_mb": round(_rss_mb(proc.pid), 1),
        "errors": stats["errors"][:10],
    }
    out = REPO / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "load.json").write_text(json.dumps({**summary, "rss_trace_mb": stats["rss_mb"]}, indent=2))
    print(json.dumps(summary, indent=2))
    assert not stats["errors"], stats["errors"][:5]
    assert len(stats["distinct_auroc"]) == SESSIONS
    assert all(n >= 2 for n in stats["distinct_auroc"]), "a session's AUROC did not follow its sliders"
    assert moves.size >= SESSIONS * 3
    assert summary["rss_peak_mb"] < MAX_RSS_MB, f"server memory peaked at {summary['rss_peak_mb']} MB"
