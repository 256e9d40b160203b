"""End-to-end: `streamlit run app.py` driven by Chromium through Playwright.

Opens every page, moves the lambda slider with the keyboard, box-selects on the projection,
uploads an image on the what-if page, and saves screenshots to test-artifacts/screenshots/.
Skips when /usr/bin/chromium (or playwright) is missing.
"""

from __future__ import annotations

import io
import os
import time

import pytest
from streamlit_server import CHROMIUM, SHOTS, playwright_or_skip, running_streamlit
from streamlit_server import CHROMIUM_ARGS as ARGS

pytestmark = pytest.mark.browser
sync_api = playwright_or_skip()


@pytest.fixture(scope="module")
def server():
    with running_streamlit("app.py", env={"BLISS_BUNDLE": ""}, log_name="streamlit.log", timeout_s=30) as (
        url,
        _,
        t,
    ):
        yield url, t


@pytest.fixture(scope="module")
def page(server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        ctx = browser.new_context(viewport={"width": 1440, "height": 2300})
        pg = ctx.new_page()
        pg.set_default_timeout(60_000)
        yield pg
        browser.close()


def _wait_idle(pg, timeout=60_000):
    """Wait until Streamlit is not running a script (no 'Running...' status widget)."""
    pg.wait_for_timeout(300)
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout,
    )
    pg.wait_for_timeout(300)


def _no_error(pg):
    body = pg.inner_text("body")
    assert "Traceback" not in body
    assert "Something went wrong" not in body


def _metric(pg, label: str) -> str:
    loc = pg.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return loc.locator('[data-testid="stMetricValue"]').inner_text()


def test_home_served_fast(server, page):
    url, startup = server
    t = time.perf_counter()
    page.goto(url + "/")
    page.get_by_text("Normal classes", exact=False).first.wait_for()
    page.get_by_text("What is loaded").wait_for()
    page.locator('[data-testid="stMetric"]').nth(3).wait_for()
    elapsed = time.perf_counter() - t
    _wait_idle(page)
    _no_error(page)
    assert "SIMULATION" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "1_home.png"), full_page=True)
    (SHOTS.parent / "home_timing.txt").write_text(
        f"home {elapsed:.2f} s, server start {startup:.2f} s, load {os.getloadavg()[0]:.1f}\n"
    )
    # The < 5 s target is measured by the benchmark suite on a quiet machine (BENCHMARKS.md, 7b);
    # here, next to the rest of the suite, the test guards against a gross regression.
    assert elapsed < 10.0, f"home page took {elapsed:.1f} s (server start {startup:.1f} s)"


def test_embedding_space_box_select(server, page):
    url, _ = server
    page.goto(url + "/Embedding_space")
    plot = page.locator(".js-plotly-plot").first
    plot.wait_for()
    _wait_idle(page)
    _no_error(page)
    plot.hover()
    page.locator('.modebar-btn[data-val="select"]').first.click()
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.05, box["y"] + box["height"] * 0.05
    x1, y1 = box["x"] + box["width"] * 0.95, box["y"] + box["height"] * 0.95
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
    page.mouse.move(x1, y1, steps=5)
    page.mouse.up()
    page.get_by_text("selected.", exact=False).first.wait_for(timeout=60_000)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
    _wait_idle(page)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(SHOTS / "2_embedding_space.png"), full_page=True)


def test_dictionary_similarity(server, page):
    url, _ = server
    page.goto(url + "/Dictionary_similarity")
    page.locator(".js-plotly-plot").nth(3).wait_for()
    _wait_idle(page)
    _no_error(page)
    page.screenshot(path=str(SHOTS / "3_dictionary_similarity.png"), full_page=True)


def test_bliss_slider_keyboard(server, page):
    url, _ = server
    page.goto(url + "/BLISS_scoring")
    page.locator('[data-testid="stMetric"]').filter(has_text="BLISS AUROC").first.wait_for()
    _wait_idle(page)
    _no_error(page)
    before = _metric(page, "BLISS AUROC")
    thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first
    for _ in range(6):  # one step at a time: a key pressed mid-rerun can be lost on a busy machine
        thumb.focus()
        page.keyboard.press("ArrowRight")
        _wait_idle(page)
    page.wait_for_function(
        """(before) => {
            const m = [...document.querySelectorAll('[data-testid="stMetric"]')]
                .find(e => e.innerText.includes('BLISS AUROC'));
            return m && !m.innerText.includes(before);
        }""",
        arg=before,
        timeout=30_000,
    )
    _wait_idle(page)
    after = _metric(page, "BLISS AUROC")
    assert after != before
    assert "lam=0.8" in page.url  # 0.5 + 6 x 0.05, shared in the URL
    page.screenshot(path=str(SHOTS / "4_bliss_scoring.png"), full_page=True)


def test_whatif_upload(server, page):
    from PIL import Image

    url, _ = server
    page.goto(url + "/Label_what_if")
    page.get_by_text("Label set A").first.wait_for()
    _wait_idle(page)
    _no_error(page)
    page.screenshot(path=str(SHOTS / "5_label_what_if.png"), full_page=True)
    page.get_by_text("Upload images").first.click()
    _wait_idle(page)
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 220)).save(buf, format="PNG")
    page.locator('input[type="file"]').first.set_input_files(
        [
            {"name": "sky.png", "mimeType": "image/png", "buffer": buf.getvalue()},
            {"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8 not really"},
        ]
    )
    page.get_by_text("broken.jpg:", exact=False).first.wait_for(timeout=60_000)
    page.get_by_text("need a model", exact=False).first.wait_for(timeout=60_000)
    _wait_idle(page)
    _no_error(page)
    page.screenshot(path=str(SHOTS / "6_label_what_if_upload.png"), full_page=True)
