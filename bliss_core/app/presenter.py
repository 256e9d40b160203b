"""Presenter mode: larger type and high contrast for a projector, and layout rules that keep
labels and tables whole at 1024 x 768.

The CSS is the app's own (no data in it). Metric labels wrap instead of being cut with an
ellipsis in both modes; presenter mode adds the larger type and stronger contrast.
"""

from __future__ import annotations

import streamlit as st

_ALWAYS = """
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
[data-testid="stMetricValue"] { overflow: visible !important; }
[data-testid="stWidgetLabel"], [data-testid="stWidgetLabel"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
"""

_PRESENTER = """
html, body, [data-testid="stAppViewContainer"] { font-size: 19px; }
[data-testid="stAppViewContainer"], [data-testid="stSidebar"] { color: #000 !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.05rem; color: #000; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] * { font-size: 1rem !important; color: #111 !important; }
[data-testid="stMetricLabel"] p { font-size: 1.05rem !important; color: #000 !important; font-weight: 600; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] p { font-size: 2.1rem !important; color: #000 !important; }
[data-testid="stMainBlockContainer"] { padding-left: 1.5rem !important; padding-right: 1.5rem !important;
  padding-top: 3rem !important; }
[data-testid="stSidebar"][aria-expanded="true"] { width: 236px !important; min-width: 236px !important; }
[data-testid="stWidgetLabel"] p { font-size: 1.05rem !important; color: #000 !important; font-weight: 600; }
h1 { font-size: 2.2rem !important; } h2, h3 { color: #000 !important; }
[data-testid="stSidebar"] { background: #fff !important; border-right: 2px solid #000; }
[data-testid="stAlert"] { border: 2px solid #000; }
"""


def apply() -> None:
    """The app's layout CSS, and presenter mode's when the session has it on."""
    css = _ALWAYS + (_PRESENTER if st.session_state.get("presenter") else "")
    st.html(f"<style>{css}</style>")


def toggle() -> None:
    """The sidebar switch (its value also travels in the URL as ``present=1``)."""
    st.toggle("Presenter mode", key="presenter", help="Larger type and high contrast for a projector.")


def side_by_side(spec: int | list[int], gap: str = "large") -> list:
    """``st.columns(spec)``, or the same number of stacked containers in presenter mode, where a
    1024 px projector leaves too little width for figures and tables side by side."""
    if st.session_state.get("presenter"):
        return [st.container() for _ in range(spec if isinstance(spec, int) else len(spec))]
    return list(st.columns(spec, gap=gap))
