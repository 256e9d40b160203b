"""HTML files the command line writes: figures and reports that share one ``plotly.min.js``.

Every HTML file a ``bliss`` command writes into a folder loads ``plotly.min.js`` from that same
folder (a relative ``<script src>``), and the folder gets one copy of it, written once, from the
plotly package that drew the figures. The files work offline and a folder of ten figures
carries plotly.js once (4.8 MB) instead of ten times. (The app's single-figure downloads stay
self-contained: see :func:`bliss_core.analysis.figures.figure_html`.)

Strings that come from data (class names, file names, model names) are escaped with
:func:`html.escape` before they reach the page: they are text, never markup.
"""

from __future__ import annotations

import html
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import OutputError
from ..files import atomic_write, file_kind, open_regular

__all__ = [
    "PLOTLY_JS",
    "figure_div",
    "figure_page",
    "output_folder",
    "report_page",
    "table_html",
    "write_plotly_js",
    "write_text",
]

#: The file name every HTML file refers to, in its own folder.
PLOTLY_JS = "plotly.min.js"


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` as UTF-8, atomically."""
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def output_folder(folder: str | os.PathLike) -> Path:
    """``folder``, created (with its parents) when missing; :class:`OutputError` when it is
    something other than a folder or cannot be created."""
    path = Path(folder)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"{path}: the output folder cannot be created ({exc.strerror or exc})."
            ) from None
        return path
    except OSError as exc:
        raise OutputError(f"{path}: cannot be checked ({exc.strerror or exc}).") from None
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(
            f"{path}: exists and is a {file_kind(st.st_mode)}, not a folder; choose another --out."
        )
    return path


def _same_content(path: Path, data: bytes) -> bool:
    try:
        if os.lstat(path).st_size != len(data):
            return False
        with open_regular(path) as fh:
            return fh.read() == data
    except OSError:
        return False


def write_plotly_js(folder: str | os.PathLike) -> Path:
    """``folder/plotly.min.js`` from the installed plotly; left as it is when it already holds
    exactly that file (so a folder gets it once, however many reports are written there)."""
    from plotly.offline import get_plotlyjs

    path = Path(folder) / PLOTLY_JS
    data = get_plotlyjs().encode("utf-8")
    if not _same_content(path, data):
        with atomic_write(path) as fh:
            fh.write(data)
    return path


def figure_page(fig: Any) -> str:
    """A full HTML page of one figure that loads ``plotly.min.js`` from its own folder."""
    return fig.to_html(include_plotlyjs="directory", full_html=True)


def figure_div(fig: Any) -> str:
    """One figure as a ``<div>`` for a page that loads plotly.js itself (:func:`report_page`)."""
    return fig.to_html(include_plotlyjs=False, full_html=False)


def table_html(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table; every cell is escaped (numbers are formatted with 4 decimals)."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4f}"
        return html.escape("" if v is None else str(v))

    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body { font-family: Inter, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #0f172a; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
p.note { color: #475569; max-width: 900px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
th, td { border: 1px solid #cbd5e1; padding: 4px 8px; text-align: left; }
th { background: #f1f5f9; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
.cell { border: 1px solid #e2e8f0; padding: 6px; }
.cell h3 { font-size: 14px; margin: 2px 4px 6px; }
.warn { color: #b91c1c; font-weight: 600; }
"""


def report_page(title: str, body: str) -> str:
    """A full HTML page: ``title`` (escaped here), ``body`` (already-safe HTML built with the
    helpers above), plotly.js loaded once from the page's folder."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        f'<script charset="utf-8" src="{PLOTLY_JS}"></script><style>{_STYLE}</style></head>'
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )
