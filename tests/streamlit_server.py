"""Start ``streamlit run`` on a free loopback port for the browser and load tests, and stop it.

One place for the start-up the end-to-end tests share: a free port, the health check, a log
file, and termination (kill when it does not stop).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SHOTS = ARTIFACTS / "screenshots"
CHROMIUM = os.environ.get("BLISS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def playwright_or_skip():
    """``playwright.sync_api``; skips the calling test module when Chromium or Playwright is missing."""
    import pytest

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_streamlit(
    script: str | Path = "app.py",
    env: dict[str, str] | None = None,
    log_name: str | None = None,
    timeout_s: float = 60.0,
    cwd: str | Path | None = None,
) -> Iterator[tuple[str, subprocess.Popen, float]]:
    """Run ``streamlit run script`` from ``cwd`` (the repository root by default: Streamlit reads
    ``.streamlit/config.toml`` from there); yields (base URL, process, seconds until healthy).
    The output goes to ``test-artifacts/<log_name>`` (discarded without one)."""
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / log_name, "w") if log_name else subprocess.DEVNULL
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=cwd or ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early; see test-artifacts/{log_name}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not become healthy in {timeout_s:g} s")
        yield url, proc, time.perf_counter() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log_name:
            log.close()
