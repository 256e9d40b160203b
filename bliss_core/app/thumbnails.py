"""Pictures in the app: per-session thumbnails by image id, and thumbnails on hover over a
plotly scatter.

A session's thumbnails come from a *reader* (image id -> PNG bytes) of the source that made its
bundle: the images a model embedded in this session, or the folder/zip a ``BLISS_BUNDLE`` file
was embedded from when it lies inside ``BLISS_DATA_ROOT``. Uploaded bundles and the simulation
have none.

Plotly hover labels cannot show images, so a small ``st.components.v2`` component (no iframe)
finds the keyed ``st.plotly_chart`` in the page, listens to plotly's ``plotly_hover`` /
``plotly_unhover`` events and shows a floating ``<img>`` for points whose ``customdata`` id
has a thumbnail. The chart itself, and its box/lasso selection, are untouched. Thumbnails
travel as small JPEG data URIs, capped in number, because they are resent with every rerun.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st
from PIL import Image

from .. import settings

log = logging.getLogger("bliss.app")

MAX_THUMBS = 3000
THUMB_PX = 64
JPEG_QUALITY = 75


def jpeg_data_uri(data: bytes, size: int = THUMB_PX, quality: int = JPEG_QUALITY) -> str | None:
    """Re-encode image bytes as a JPEG data URI at most ``size`` px; None when unreadable."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("RGB", (size, size))  # JPEG sources decode at reduced scale: much faster
            im = im.convert("RGB")
            im.thumbnail((size, size))
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=quality, optimize=True)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def thumbs_for_ids(
    image_ids: Sequence[str] | None,
    ids: Sequence[int],
    thumb: Callable[[str], bytes | None],
    max_count: int = MAX_THUMBS,
) -> dict[str, str]:
    """``{global id: JPEG data URI}`` for the image points among ``ids``.

    ``image_ids`` is the bundle's per-row image id (global ids ``0..N-1`` are image rows; larger
    ids are texts and get nothing). ``thumb`` returns image bytes or None (no picture); at most
    ``max_count`` thumbnails are returned, in the order of ``ids``, to bound the page payload.
    """
    out: dict[str, str] = {}
    if not image_ids:
        return out
    n = len(image_ids)
    for g in dict.fromkeys(int(g) for g in ids):  # each id once, in order
        if len(out) >= max_count:
            break
        if not 0 <= g < n:
            continue
        data = thumb(image_ids[g])
        uri = jpeg_data_uri(data) if data is not None else None
        if uri is not None:
            out[str(g)] = uri
    return out


_JS = r"""
// Called again (with fresh data) on every rerun, without the previous cleanup: keep one state
// per mount on the parent element and only swap the thumbnails.
export default function (component) {
  const { data, parentElement } = component;
  const holder = parentElement.host || parentElement;  // shadow root -> its host element
  let st = holder.__hoverThumbs;
  if (!st) {
    st = { thumbs: {}, chartKey: "", gd: null, on: null };
    const box = document.createElement("div");
    box.setAttribute("data-testid", "hoverThumb");
    Object.assign(box.style, {
      position: "fixed", zIndex: "100000", pointerEvents: "none", display: "none",
      background: "#fff", border: "1px solid #cbd5e1", borderRadius: "6px",
      boxShadow: "0 4px 14px rgba(15, 23, 42, 0.25)", padding: "3px",
    });
    const img = document.createElement("img");
    img.alt = "";
    Object.assign(img.style, { display: "block", width: "112px", height: "112px", objectFit: "contain" });
    box.appendChild(img);
    document.body.appendChild(box);  // outside any shadow root, so position: fixed is the viewport's
    st.onHover = (ev) => {
      const pt = ev && ev.points && ev.points[0];
      const cd = pt && pt.customdata;
      const id = Array.isArray(cd) ? cd[0] : cd;
      const src = id != null && Object.hasOwn(st.thumbs, String(id)) ? st.thumbs[String(id)] : "";
      const e = ev.event;  // plotly emits hover events for real pointer events only
      if (!String(src).startsWith("data:image/") || !e) { box.style.display = "none"; return; }
      if (img.getAttribute("src") !== src) img.src = src;
      const x = e.clientX, y = e.clientY;
      const w = 120, h = 120, gap = 24;  // the box: a 112 px picture, padding and border
      // Centred above the pointer, clear of plotly's label (beside the point, about as tall as
      // two lines of text); below the pointer when there is no room above.
      const left = Math.min(Math.max(4, x - w / 2), window.innerWidth - w - 4);
      const top = y - h - gap >= 4 ? y - h - gap : y + gap;
      box.style.left = left + "px";
      box.style.top = top + "px";
      box.style.display = "block";
    };
    st.onUnhover = () => { box.style.display = "none"; };
    st.attach = () => {
      const gd = st.chartKey ? document.querySelector(".st-key-" + CSS.escape(st.chartKey) + " .js-plotly-plot") : null;
      // Same div, same emitter: our listeners are still there. (Plotly.newPlot purges a div's
      // listeners and gives it a new gd.on, so a changed gd.on means attach again.)
      if (gd && gd === st.gd && gd.on === st.on) return;
      st.detach();
      if (!gd || typeof gd.on !== "function") return;  // not drawn yet: the next poll retries
      gd.on("plotly_hover", st.onHover);
      gd.on("plotly_unhover", st.onUnhover);
      st.gd = gd;
      st.on = gd.on;
    };
    st.detach = () => {
      if (st.gd && typeof st.gd.removeListener === "function") {
        st.gd.removeListener("plotly_hover", st.onHover);
        st.gd.removeListener("plotly_unhover", st.onUnhover);
      }
      st.gd = null;
      st.on = null;
      box.style.display = "none";
    };
    // Streamlit may replace the chart's graph div on a rerun; re-attach when it does.
    st.timer = window.setInterval(st.attach, 400);
    st.cleanup = () => {
      window.clearInterval(st.timer);
      st.detach();
      box.remove();
      delete holder.__hoverThumbs;
    };
    holder.__hoverThumbs = st;
  }
  st.thumbs = (data && data.thumbs) || {};
  st.chartKey = (data && data.chart_key) || "";
  st.attach();
  return st.cleanup;
}
"""

_component = st.components.v2.component("bliss_hover_thumbs", js=_JS)


def hover_thumbnails(chart_key: str, thumbs: dict[str, str]) -> None:
    """Show ``thumbs`` ({global id: data URI}) when hovering the points of the plotly chart
    drawn with ``key=chart_key``; the component itself draws nothing in the page flow."""
    _component(key=f"hover_thumbs_{chart_key}", data={"chart_key": chart_key, "thumbs": thumbs})


# ------------------------------------------------------------------------------------------
# per-session thumbnails by image id
# ------------------------------------------------------------------------------------------
MAX_SESSION_THUMBS = 5000


def thumbnail(img: Image.Image, size: int = 128) -> bytes:
    """PNG bytes of a PIL image scaled to fit ``size``."""
    im = img.copy()
    im.thumbnail((size, size))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def reader_for(source: Any) -> Callable[[str], bytes | None]:
    """Thumbnail PNG bytes by image id, read from an open :class:`~bliss_core.embed.sources.ImageSource`."""
    items = {it.image_id: it for it in source.items}

    def read(image_id: str) -> bytes | None:
        it = items.get(image_id)
        return None if it is None else thumbnail(it.load())

    return read


@st.cache_resource(
    max_entries=2,
    ttl=settings.get("BLISS_CACHE_TTL_S"),
    show_spinner="Finding the bundle's images on the server…",
)
def bundle_images(dataset: str) -> Callable[[str], bytes | None] | None:
    """Thumbnails for a server bundle file (BLISS_BUNDLE) whose images are still where
    ``bliss embed`` read them (its ``meta["dataset"]``: a folder, zip or TinyImageNet path),
    when that path lies inside ``BLISS_DATA_ROOT``; None otherwise."""
    from ..embed.sources import app_data_root, open_source
    from ..errors import DataError

    root = app_data_root()
    kind = dataset.partition(":")[0].lower()
    if root is None or kind not in ("folder", "zip", "tinyimagenet"):
        return None
    try:
        return reader_for(open_source(dataset, confine_to=root))
    except (DataError, OSError) as exc:
        log.info("no thumbnails for bundle images at %s: %s", dataset, exc)
        return None


def use_reader(reader: Callable[[str], bytes | None] | None) -> None:
    """Make ``reader`` the session's thumbnail source; a new source forgets the old thumbnails
    (two sources can share image ids such as ``train/cat/0001.jpg``)."""
    ss = st.session_state
    if ss.get("thumb_reader") is not reader:
        ss["thumb_reader"] = reader
        ss["thumbs"] = {}
        ss["thumb_uris"] = {}
        ss["thumbs_sent"] = set()


def register(images: dict[str, bytes]) -> None:
    """Remember thumbnails by image id for this session (bounded)."""
    store = st.session_state.setdefault("thumbs", {})
    store.update(images)
    while len(store) > MAX_SESSION_THUMBS:
        store.pop(next(iter(store)))


def thumb_for(image_id: str) -> bytes | None:
    """Thumbnail PNG bytes for an image id, when this session has a picture for it."""
    store = st.session_state.get("thumbs") or {}
    if image_id in store:
        return store[image_id]
    reader = st.session_state.get("thumb_reader")
    if reader is None:
        return None
    try:
        data = reader(image_id)
    except Exception:
        data = None
    if data is not None:
        register({image_id: data})
    return data


def thumb_uri(image_id: str) -> str | None:
    """A small JPEG data URI of the image's picture for this session, or None (kept per session)."""
    store = st.session_state.setdefault("thumb_uris", {})
    if image_id not in store:
        data = thumb_for(image_id)
        store[image_id] = jpeg_data_uri(data) if data is not None else None
        while len(store) > MAX_SESSION_THUMBS:
            store.pop(next(iter(store)))
    return store[image_id]


def has_pictures(image_ids: Sequence[str] | None) -> bool:
    """Whether this session has pictures for the bundle's images (one look-up tells)."""
    return bool(image_ids) and thumb_for(image_ids[0]) is not None
