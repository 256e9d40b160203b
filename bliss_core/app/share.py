"""Share with the class: a link (and its QR code) that reproduces the current view.

What a link can carry: the simulation with its knobs, and a bundle the server opened
(``BLISS_BUNDLE``) by its file name, never a path; the normal classes, lambda, K and the page.
Uploads and embeddings a model made in one session live in that session only: the panel says
so, and such a link opens with a note instead of silently showing something else.
"""

from __future__ import annotations

import functools
import io
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from .frame import text_line


def shareable(source: dict[str, Any]) -> tuple[bool, str]:
    """Whether a link can reproduce ``source``, and a sentence saying why not when it cannot."""
    kind = source.get("kind")
    if kind == "simulation":
        return True, ""
    if kind == "bundle_file":
        return True, ""
    if kind == "bundle_upload":
        return False, (
            "This view shows a bundle uploaded in your session; nobody else can open it from a link. "
            "Ask the operator to add the file to BLISS_BUNDLE, or share the simulation."
        )
    return False, (
        "This view shows embeddings a model made in your session; nobody else can open them from a link. "
        "Save a bundle with `bliss embed` and ask the operator to add it to BLISS_BUNDLE, or share the "
        "simulation."
    )


def _is_local(url: str) -> bool:
    """Whether ``url`` points at the viewer's own machine (useless to share)."""
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "0.0.0.0", "::1") or host.startswith("127.")


@functools.lru_cache(maxsize=64)
def qr_png(url: str, scale: int = 6) -> bytes:
    """The QR code of ``url`` as PNG bytes (segno; no network, no PIL); remembered, since the
    sidebar that shows it reruns with every page."""
    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()


def share_panel() -> None:
    """The link to this view and its QR code, or why this view cannot be shared."""
    ok, why = shareable(st.session_state.get("source") or {"kind": "simulation"})
    if not ok:
        st.warning(why, icon=":material/link_off:")
        return
    base = str(st.context.url or "")
    if not base:
        st.caption("The link appears once the page has loaded in a browser.")
        return
    url = base + "?" + urlencode(dict(st.query_params.to_dict()))
    if _is_local(base):
        st.warning(
            "This link names this computer only (localhost): students cannot open it. Open the app "
            'through the server\'s network address (the "Network URL" Streamlit prints at start) '
            "and the link and code will carry it.",
            icon=":material/lan:",
        )
    st.caption(
        "Students open this link (or scan the code) to see this view: the same data, classes, λ and K."
    )
    text_line(url, limit=500)
    st.image(qr_png(url), width=180)
