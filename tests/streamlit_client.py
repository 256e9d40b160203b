"""A minimal Streamlit client over the app's own websocket protocol (on loopback only).

It sends what a browser sends (``BackMsg`` protobufs: a rerun with widget states) and reads the
``ForwardMsg`` deltas until the script run finishes, so the server does exactly the work it
does for a browser, without a browser. Used by the load test and the classroom benchmark.
"""

from __future__ import annotations

import asyncio
import time


class Session:
    """A minimal Streamlit client: rerun requests out, deltas in."""

    def __init__(self, ws, page: str = "BLISS_scoring"):
        self.ws = ws
        self.page = page
        self.sliders: dict[str, str] = {}  # label prefix -> widget id
        self.values: dict[str, float] = {}  # widget id -> the value this client last had
        self.metrics: dict[str, str] = {}
        self.errors: list[str] = []
        self.fragment_id = ""  # the sliders' fragment: a move reruns only that, as in a browser

    async def run(self, widgets: dict[str, float] | None = None, timeout: float = 120.0) -> float:
        """Request a rerun of the page (with slider values) and read until it finishes; seconds."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_name = self.page
        if widgets and self.fragment_id:
            msg.rerun_script.fragment_id = self.fragment_id
        for label, value in (widgets or {}).items():
            self.values[self.sliders[label]] = float(value)
        if widgets:  # a browser sends every widget's state, not only the one that moved
            for wid, value in self.values.items():
                state = msg.rerun_script.widget_states.widgets.add()
                state.id = wid
                state.double_array_value.data.append(value)
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                etype = el.WhichOneof("type")
                if etype == "slider":
                    self.sliders[el.slider.label.split(" ")[0]] = el.slider.id
                    current = list(el.slider.value) if el.slider.set_value else list(el.slider.default)
                    if el.slider.id not in self.values and len(current) == 1 and not el.slider.options:
                        self.values[el.slider.id] = float(current[0])  # numeric sliders (not select_slider)
                    self.fragment_id = fm.delta.fragment_id or self.fragment_id
                elif etype == "metric":
                    self.metrics[el.metric.label] = el.metric.body
                elif etype == "exception":
                    self.errors.append(f"exception: {el.exception.type}: {el.exception.message}")
                elif etype == "alert" and el.alert.format == 1:  # ERROR
                    self.errors.append(f"error shown: {el.alert.body}")
            elif kind == "page_not_found":
                self.errors.append("page not found")
            elif (
                kind == "script_finished" and fm.script_finished != 2
            ):  # 2: restarted for a rerun; 3: fragment done
                if fm.script_finished == 1:
                    self.errors.append("script failed to compile")
                return time.perf_counter() - start


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    from pathlib import Path

    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    import os

    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connect(port: int, open_timeout: float = 60):
    """A websocket to a local Streamlit server's script stream (an async context manager)."""
    import websockets

    return websockets.connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        subprotocols=["streamlit"],
        max_size=None,
        open_timeout=open_timeout,
    )


def random_move(rng, move: int) -> dict[str, float]:
    """A student's ``move``-th slider move: λ on odd moves, K on even ones, random values on the
    sliders' own steps."""
    if move % 2:
        return {"λ": float(round(rng.uniform(0, 3) / 0.05) * 0.05)}
    return {"K": float(rng.integers(1, 51))}


def p95(values) -> float:
    """The 95th percentile as the classroom benchmark reports it (a sorted sample's element)."""
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


async def class_session(port: int, i: int, stats: dict, seconds: float, interval: float = 0.5) -> None:
    """One student: open the scoring page, then move λ or K every ``interval`` seconds for
    ``seconds`` (random slider values on the sliders' own steps); latencies into ``stats``."""
    import numpy as np

    rng = np.random.default_rng(i)
    try:
        async with connect(port) as ws:
            s = Session(ws, "BLISS_scoring")
            stats["first_load_s"].append(await s.run(timeout=300))
            if "λ" not in s.sliders or "K" not in s.sliders:
                stats["errors"].append(f"session {i}: the sliders were not found")
                return
            seen = {s.metrics.get("BLISS AUROC")}
            stop_at = time.monotonic() + seconds
            move = 0
            while time.monotonic() < stop_at:
                started = time.monotonic()
                stats["move_s"].append(await s.run(random_move(rng, move)))
                seen.add(s.metrics.get("BLISS AUROC"))
                move += 1
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
            stats["distinct_auroc"].append(len(seen))
            stats["errors"].extend(f"session {i}: {e}" for e in s.errors)
    except Exception as exc:
        stats["errors"].append(f"session {i}: {type(exc).__name__}: {exc}")


async def classroom(port: int, pid: int, sessions: int, seconds: float, interval: float = 0.5) -> dict:
    """``sessions`` students at once (started 50 ms apart); returns the raw stats
    with the server's resident memory sampled every half second and its CPU seconds."""
    stats: dict = {"first_load_s": [], "move_s": [], "distinct_auroc": [], "errors": [], "rss_mb": []}

    async def student(i: int) -> None:
        await asyncio.sleep(i * 0.05)
        await class_session(port, i, stats, seconds, interval)

    tasks = [asyncio.create_task(student(i)) for i in range(sessions)]

    async def sample() -> None:
        while not all(t.done() for t in tasks):
            stats["rss_mb"].append(round(rss_mb(pid), 1))
            await asyncio.sleep(0.5)

    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    await asyncio.gather(sample(), *tasks)
    stats["seconds"] = round(time.monotonic() - t0, 1)
    stats["server_cpu_s"] = round(cpu_seconds(pid) - cpu0, 2)
    return stats
