"""End-to-end: hovering an image point of a projection scatter shows its thumbnail.

A tiny Streamlit script (written by the test) draws the app's projection scatter with three
points and mounts ``hover_thumbnails`` for one of them; Chromium (through Playwright) moves
the mouse over the points, box-selects, and hovers again. Saves
test-artifacts/screenshots/hover_thumbnail.png. Skips when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import base64
import io
import os

import pytest
from PIL import Image
from streamlit_server import CHROMIUM, ROOT, SHOTS, playwright_or_skip, running_streamlit
from streamlit_server import CHROMIUM_ARGS as ARGS

pytestmark = pytest.mark.browser
sync_api = playwright_or_skip()

SCRIPT = """
import numpy as np
import streamlit as st

from bliss_core.analysis import figures as F
from bliss_core.app.thumbnails import hover_thumbnails

coords = np.array([[1.0, 0.0], [0.0, 1.0], [0.99, 0.0]])  # the text point (id 7) right by point 0
fig = F.projection_scatter(coords, ["image", "image", "dict"], ["<b>img-a</b>", "img-b", '"word"'], [0, 1, 7],
                           ["cat (test)", "dog (test)", "dictionary entry"], height=420, template=None)
event = st.plotly_chart(fig, key="c", on_select="rerun", selection_mode=("box", "lasso"))
hover_thumbnails("c", {"0": RED})
st.write(f"selected points: {len(event['selection']['points']) if event else 0}")
"""

# Page position of the point with global id ``i`` (from plotly's own axes).
POINT_XY = """(i) => {
  const gd = document.querySelector('.st-key-c .js-plotly-plot');
  const tr = gd._fullData.find(t => (t.customdata || []).some(c => c[0] === i));
  const k = tr.customdata.findIndex(c => c[0] === i);
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, bb = gd.getBoundingClientRect();
  return [bb.left + xa._offset + xa.l2p(tr.x[k]), bb.top + ya._offset + ya.l2p(tr.y[k])];
}"""


def _red_uri() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (255, 0, 0)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    red = _red_uri()
    script = tmp_path_factory.mktemp("hover") / "hover_app.py"
    script.write_text(f"RED = {red!r}\n" + SCRIPT)
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with running_streamlit(script, env={"PYTHONPATH": path}, log_name="streamlit_hover.log") as (base, _, _t):
        yield base, red


def _thumb(pg) -> dict:
    return pg.evaluate("""() => {
        const boxes = document.querySelectorAll('[data-testid="hoverThumb"]');
        const b = boxes[0];
        return {count: boxes.length, display: b ? b.style.display : null,
                src: b ? b.querySelector('img').getAttribute('src') : null,
                rect: b ? b.getBoundingClientRect().toJSON() : null};
    }""")


def _hover(pg, gid: int) -> tuple[float, float]:
    x, y = pg.evaluate(POINT_XY, gid)
    pg.mouse.move(x - 30, y + 30)
    pg.mouse.move(x, y, steps=5)
    return x, y


def test_hover_shows_thumbnail(url):
    base, red = url
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        pg = browser.new_page(viewport={"width": 1000, "height": 800})
        pg.set_default_timeout(60_000)
        pg.goto(base + "/")
        pg.get_by_text("selected points: 0").wait_for()
        pg.wait_for_function("() => document.querySelector('.st-key-c .js-plotly-plot')?._fullLayout?.xaxis")
        pg.wait_for_function("() => document.querySelectorAll('[data-testid=\"hoverThumb\"]').length === 1")

        # the image point with a thumbnail: the picture, near the pointer, above the page
        x, y = _hover(pg, 0)
        pg.wait_for_function(
            "() => document.querySelector('[data-testid=\"hoverThumb\"]').style.display === 'block'"
        )
        t = _thumb(pg)
        assert t["src"] == red
        r = t["rect"]
        assert r["width"] > 60 and r["height"] > 60
        assert abs(r["left"] + r["width"] / 2 - x) < 250 and abs(r["top"] + r["height"] / 2 - y) < 250
        pg.get_by_text("img-a").first.wait_for()  # plotly's own hover label is still there (text, not markup)
        pg.screenshot(path=str(SHOTS / "hover_thumbnail.png"))

        # to the text point right next to it (a dense plot): the picture goes, and comes back
        tx, ty = pg.evaluate(POINT_XY, 7)
        pg.mouse.move(tx, ty, steps=8)
        pg.locator(".hoverlayer").get_by_text("word").first.wait_for()  # plotly now labels the text point
        assert _thumb(pg)["display"] == "none"
        pg.mouse.move(x, y, steps=8)
        pg.wait_for_function(
            "() => document.querySelector('[data-testid=\"hoverThumb\"]').style.display === 'block'"
        )

        # leaving the point hides it; an image without a thumbnail and a text point show nothing
        pg.mouse.move(x - 150, y - 150, steps=3)
        pg.wait_for_function(
            "() => document.querySelector('[data-testid=\"hoverThumb\"]').style.display === 'none'"
        )
        for gid in (1, 7):
            _hover(pg, gid)
            pg.wait_for_timeout(500)
            assert _thumb(pg)["display"] == "none", gid

        # box selection still works, and after its rerun hovering still shows the picture (one box).
        # (Plotly itself shows no hover inside a selection box, so the box holds point 1 only.)
        pg.locator('.modebar-btn[data-val="select"]').first.click()
        bx, by = pg.evaluate(POINT_XY, 1)
        pg.mouse.move(bx - 20, by - 8)
        pg.mouse.down()
        pg.mouse.move(bx, by + 20, steps=5)
        pg.mouse.move(bx + 40, by + 40, steps=5)
        pg.mouse.up()
        pg.get_by_text("selected points: 1").wait_for()
        pg.wait_for_timeout(1000)
        _hover(pg, 0)
        pg.wait_for_function(
            "() => document.querySelector('[data-testid=\"hoverThumb\"]').style.display === 'block'"
        )
        t = _thumb(pg)
        assert t["count"] == 1 and t["src"] == red
        browser.close()
