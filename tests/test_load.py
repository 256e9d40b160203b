"""Load test: a class of students on one server, on loopback only.

Each session is a real Streamlit session: a websocket client speaking the app's own protocol
(the protobuf messages the browser sends), so the server does exactly the work it does for a
browser, while the test machine is not swamped by 30 Chromium renderers. Each session opens
the BLISS scoring page with the simulation (the default source), then moves λ or K every half
second for a bounded time. The test fails on any exception or error shown to a session, when
a session's AUROC does not follow its sliders, when the server's memory passes 3 GB, and when
moves get far slower than the classroom target (a loose regression bound: the 500 ms p95
target itself is measured by ``benchmarks/classroom.py`` on a CIFAR-10-sized bundle). Figures
go to ``test-artifacts/load.json`` and are printed.

Knobs: ``BLISS_LOAD_SESSIONS`` (default 30), ``BLISS_LOAD_SECONDS`` (default 20 per session),
``BLISS_LOAD_MAX_RSS_MB`` (default 3072), ``BLISS_LOAD_MAX_P95_MS`` (default 2500).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import numpy as np
import pytest
from streamlit_client import classroom, rss_mb
from streamlit_server import running_streamlit

REPO = Path(__file__).resolve().parents[1]
SESSIONS = int(os.environ.get("BLISS_LOAD_SESSIONS", "30"))
SECONDS = float(os.environ.get("BLISS_LOAD_SECONDS", "20"))
MAX_RSS_MB = float(os.environ.get("BLISS_LOAD_MAX_RSS_MB", "3072"))
MAX_P95_MS = float(os.environ.get("BLISS_LOAD_MAX_P95_MS", "2500"))

pytestmark = pytest.mark.slow
websockets = pytest.importorskip("websockets")


@pytest.fixture(scope="module")
def server():
    with running_streamlit("app.py", env={"BLISS_BUNDLE": "", "BLISS_LOG_LEVEL": "WARNING"}) as (
        url,
        proc,
        _,
    ):
        yield int(url.rsplit(":", 1)[1]), proc


def test_a_class_moves_sliders_without_errors(server):
    port, proc = server
    rss_idle = rss_mb(proc.pid)
    stats = asyncio.run(asyncio.wait_for(classroom(port, proc.pid, SESSIONS, SECONDS), SECONDS + 240))
    moves = np.array(stats["move_s"]) * 1000
    summary = {
        "sessions": SESSIONS,
        "seconds_per_session": SECONDS,
        "wall_s": stats["seconds"],
        "slider_moves": int(moves.size),
        "move_ms_p50": round(float(np.median(moves)), 1) if moves.size else None,
        "move_ms_p95": round(float(np.percentile(moves, 95)), 1) if moves.size else None,
        "server_cpu_ms_per_move": round(1000 * stats["server_cpu_s"] / max(moves.size, 1), 1),
        "first_load_s_median": round(float(np.median(stats["first_load_s"])), 2)
        if stats["first_load_s"]
        else None,
        "rss_idle_mb": round(rss_idle, 1),
        "rss_peak_mb": max(stats["rss_mb"] or [float("nan")]),
        "rss_end_mb": round(rss_mb(proc.pid), 1),
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
    assert summary["move_ms_p95"] < MAX_P95_MS, f"p95 {summary['move_ms_p95']} ms per move"
