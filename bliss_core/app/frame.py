"""The frame of every page: set-up, banners, error handling, downloads and safe text.

A page is ``page_setup()`` then ``run_page(title, caption, body)``. Errors the library raises on
purpose (:class:`~bliss_core.errors.BlissError`) become a one-sentence message; anything else is
logged with its traceback on the server and shown as a short apology, never as a traceback.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from ..core.text import strip_control
from ..errors import AppError, BlissError, MetricError, ScoringError, SplitError
from .escape import display, md_escape
from .sources import Current, current, env_bundles, env_source
from .state import init_session

log = logging.getLogger("bliss.app")


def page_setup() -> None:
    """Called at the top of every page file. ``app.py`` is the frame of all pages (page config,
    session defaults, navigation via ``st.navigation``). A deep link as the very first request
    after the server starts is run by Streamlit's legacy ``pages/`` mode, without that frame;
    switch to ``st.navigation`` mode and rerun so the page gets its frame."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a future Streamlit
        PagesManager = None
    if PagesManager is not None and PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
    if not st.session_state.get("_bliss_init"):  # run on its own (tests): app.py did none of this
        from . import presenter

        st.set_page_config(page_title="bliss-lab", layout="wide")
        init_session(env_source(), env_bundles())
        presenter.apply()


def source_banner(cur: Current | None) -> None:
    """The simulation / untrained warnings every page shows."""
    if cur is None:
        return
    if cur.bundle.is_simulation:
        st.info(
            "**SIMULATION** — these are synthetic embeddings with a planted text clustering effect, "
            "not the output of a model. Choose a real model or a bundle on the home page.",
            icon=":material/science:",
        )
    if cur.bundle.untrained:
        st.warning(
            "**UNTRAINED MODEL (plumbing check)** — the embeddings come from random weights; "
            "the numbers say nothing about CLIP or BLISS.",
            icon=":material/warning:",
        )


def show_error(exc: BaseException, where: str) -> None:
    """Log ``exc`` server-side and show a friendly message (never a traceback)."""
    if isinstance(exc, AppError):
        st.error(md_escape(str(exc), 400))
    elif isinstance(exc, (ScoringError, MetricError, SplitError)):
        log.info("%s: %s", where, exc)
        st.warning(
            f"This cannot be computed with the current choices: {md_escape(str(exc), 400)} "
            "Change the normal classes on the home page."
        )
    elif isinstance(exc, BlissError):
        log.warning("%s: %s", where, exc)
        st.error(f"This cannot be shown with the current choices: {md_escape(str(exc), 400)}")
    else:
        log.error("%s failed", where, exc_info=exc)
        st.error(
            "Something went wrong here. The details are in the server log; try other settings or reload the page."
        )


def guarded(fn: Callable) -> Callable:
    """Decorator: run ``fn`` with :func:`show_error` handling (for fragments)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            show_error(exc, fn.__name__)

    return wrapper


def run_page(title: str, caption: str, body: Callable[[Current], None], needs_bundle: bool = True) -> None:
    """Title, caption, banners and the body; exceptions are logged and shown as a friendly error."""
    st.title(title)
    st.caption(caption)
    try:
        cur = current() if needs_bundle else None
        source_banner(cur)
        body(cur)
    except Exception as exc:
        show_error(exc, f"page {title}")
    freeze_heap_once(title)


def download_figure(fig: Any, name: str, key: str) -> None:
    """Download button for a figure as a self-contained HTML file."""
    from ..analysis.figures import figure_html

    st.download_button(
        f"⬇ {name} (HTML)",
        data=lambda: figure_html(fig),
        file_name=f"{name}.html",
        mime="text/html",
        key=key,
        on_click="ignore",
    )


def text_line(text: Any, limit: int = 200) -> None:
    """One line of data shown as plain text (never Markdown); the full text on hover when cut."""
    full = strip_control(text)
    st.text(display(full, limit), help=md_escape(full, len(full)) if len(full) > limit else None)


def normal_label(bundle: Any, c: int, markdown: bool = True) -> str:
    """A class name, with the words its label embedding encodes when reworded; escaped for a
    Markdown context unless ``markdown=False`` (then for plain text, see :func:`display`)."""
    from ..core.whatif import label_text

    name, words = bundle.class_names[int(c)], label_text(bundle, c)
    out = md_escape if markdown else display
    return out(name, 60) if words == name else f"{out(name, 60)} (as “{out(words, 80)}”)"


CLUSTERING_METRICS = (
    (
        "text_text",
        "text ↔ text similarity",
        "Mean cosine similarity between text embeddings (labels and dictionary).",
    ),
    ("image_image", "image ↔ image similarity", "Mean cosine similarity between image embeddings."),
    ("image_text", "image ↔ text similarity", "Mean cosine similarity between an image and a text."),
    ("modality_gap", "modality gap", "Distance between the mean image and the mean text embedding."),
)


def show_clustering_stats(stats: dict, slots: Sequence[Any]) -> None:
    """The four text clustering statistics as metrics, one per slot (columns or containers)."""
    for slot, (key, label, help_text) in zip(slots, CLUSTERING_METRICS):
        slot.metric(label, f"{stats[key]:.3f}", help=help_text)


def configure_logging() -> None:
    """The server log's format and level (``BLISS_LOG_LEVEL``)."""
    from .. import settings

    logging.basicConfig(
        level=settings.get("BLISS_LOG_LEVEL"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


_FROZEN: set[str] = set()


def freeze_heap_once(tag: str = "start") -> None:
    """Move everything loaded so far (the modules of torch, pandas, plotly, scikit-learn, the
    shared caches) into Python's permanent generation, once per ``tag`` and server process, so
    that the collector's full passes skip it. Streamlit's own full collection after every rerun
    is off (``runner.postScriptGC``). Pages call it after their first run, when their imports
    have happened."""
    if tag not in _FROZEN:
        import gc

        _FROZEN.add(tag)
        gc.collect()
        gc.freeze()
