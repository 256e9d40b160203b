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
            elif kind == "script_finished" and fm.script_finished != 2:  # 2: restarted for a rerun; 3: fragment done
                if fm.script_finished == 1:
                    self.errors.append("script failed to compile")
                return time.perf_counter() - start
