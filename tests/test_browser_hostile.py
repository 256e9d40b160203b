"""Data is shown as text, on every page, in a real browser.

A bundle whose class names, image ids, dictionary entries, meta and file name carry Markdown
and HTML image payloads, all pointing at a listener on a loopback port, is served with
``BLISS_BUNDLE``. Chromium visits every page (and moves a slider, so the live panel redraws);
the listener must see no connection at all, and the page text must show the payloads
literally. Right-to-left override characters must not reach the page, and very long names are
cut with an ellipsis.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from streamlit_server import CHROMIUM, CHROMIUM_ARGS, SHOTS, playwright_or_skip, running_streamlit

from bliss_core import make_simulated_bundle, save_bundle

pytestmark = pytest.mark.browser
sync_api = playwright_or_skip()

PAGES = ["home", "Embedding_space", "Dictionary_similarity", "BLISS_scoring", "Label_what_if", "Compare"]


class Listener:
    """Counts every connection to a loopback port (an HTTP server a payload would fetch from)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            try:
                conn.settimeout(1)
                self.connections.append(conn.recv(200).decode("latin-1").split("\r\n")[0])
                conn.sendall(b"HTTP/1.0 404 Not Found\r\n\r\n")
            except OSError:
                self.connections.append("(connection)")
            finally:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def listener():
    lst = Listener()
    yield lst
    lst.close()


def _payloads(port: int) -> dict[str, str]:
    host = f"127.0.0.1:{port}"
    return {
        "md_image": f"![md](http:{host}/md-image)",
        "html_image": f'<img src="http://{host}/html-image">',
        "link": f"[click](http:{host}/link)",
        "bold": "**bold** _italic_ :red[red] :material/warning:",
        "rtl": "cat\u202egnp.exe",
        "long": "x" * 400,
    }


@pytest.fixture(scope="module")
def hostile_bundle(tmp_path_factory, listener):
    p = _payloads(listener.port)
    b = make_simulated_bundle(seed=5, train_per_class=30, test_per_class=20, n_dict=60, dim=24)
    names = list(b.class_names)
    names[0], names[1], names[2], names[3], names[4], names[5] = (
        p["md_image"],
        p["html_image"],
        p["link"],
        p["bold"],
        p["rtl"],
        p["long"],
    )
    b.class_names = names
    b.dict_names[:3] = [p["md_image"] + " word", p["html_image"], p["link"]]
    b.image_id = [
        f"train/{p['md_image']}/{i}.png" if i % 2 else f"test/{p['html_image']}/{i}.png"
        for i in range(len(b.image_label))
    ]
    b.meta.update(model=p["md_image"], dataset=f"folder:{p['html_image']}", prompt=p["md_image"] + " {}")
    folder = tmp_path_factory.mktemp("hostile")
    # a file name cannot hold '/' (nor ':', which separates BLISS_BUNDLE's files): a relative image
    name = "**b** ![f](file-payload.png) <img src=file-payload2.png>.npz"
    return str(save_bundle(b, folder / name)), p


def test_no_page_fetches_what_the_data_says(listener, hostile_bundle):
    path, payloads = hostile_bundle
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {"BLISS_BUNDLE": path, "BLISS_LOG_LEVEL": "WARNING"}
    with running_streamlit("app.py", env=env, log_name="hostile.log", timeout_s=60) as (url, _, _t):
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 2000})
            page.set_default_timeout(90_000)
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            texts, sidebars = {}, {}
            for slug in PAGES:
                page.goto(f"{url}/{'' if slug == 'home' else slug}?normal=0,3,4,5")
                page.wait_for_selector("h1", timeout=90_000)
                page.wait_for_timeout(2500)
                if slug == "BLISS_scoring":
                    page.locator("[data-testid=stSlider] input[type=range]").first.focus()
                    page.keyboard.press("ArrowRight")
                    page.wait_for_timeout(1500)
                texts[slug] = page.inner_text("body")
                sidebars[slug] = page.inner_text("[data-testid=stSidebar]")
                page.screenshot(path=str(SHOTS / f"hostile-{slug}.png"), full_page=True)
                assert "Traceback" not in texts[slug] and "Something went wrong" not in texts[slug], slug
            # the live panel's galleries and the what-if tables draw ids and class names
            html = page.content()
            browser.close()
    time.sleep(0.5)
    assert listener.connections == [], f"the browser fetched {listener.connections}"
    assert not [u for u in requests if "payload" in u or str(listener.port) in u], requests
    everything = "\n".join(texts.values())
    # the payloads are shown as the text they are
    assert "![md](http:127.0.0.1:" in everything
    assert "<img src=" in everything or "&lt;img" in html
    assert "**bold**" in everything
    assert "**b** ![f](file-payload.png) <img src=file-payload2.png>.npz" in texts["home"]
    # where names sit inside the app's own sentences (the sidebar's summary), bidi overrides are
    # removed and long names are cut with an ellipsis
    for slug, side in sidebars.items():
        assert "\u202e" not in side, f"a right-to-left override reached the sidebar on {slug}"
        assert "x" * 400 not in side and "…" in side, slug
    assert os.path.exists(path)
