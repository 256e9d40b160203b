"""Tables the app shows and offers for download: an interactive grid (a static, escaped table in
presenter mode, where a projector's width must not cut columns) and CSV that no spreadsheet
runs as a formula."""

from __future__ import annotations

import numbers

import pandas as pd
import streamlit as st

from ..core.text import csv_cell


def safe_csv(df: pd.DataFrame) -> str:
    """``df`` as CSV text; text cells that would start a formula (``= + - @``, tab, CR) get a
    leading apostrophe (OWASP), numbers and booleans stay as they are."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(csv_cell)
    out.columns = [csv_cell(str(c)) for c in out.columns]
    return out.to_csv(index=False)


#: Rows a presenter-mode table shows (a static table has no scrolling of its own).
PRESENTER_ROWS = 60


def show_table(df: pd.DataFrame, digits: int = 4, **dataframe_kw) -> None:
    """``df`` as ``st.dataframe`` with floats to ``digits`` places; in presenter mode as a static
    ``st.table`` that wraps instead of cutting. ``st.table`` reads Markdown in cells, so there
    every text cell and header is escaped (data strings stay text)."""
    from .frame import md_escape

    floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c])]
    if not st.session_state.get("presenter"):
        config = {c: st.column_config.NumberColumn(format=f"%.{digits}f") for c in floats}
        config.update(dataframe_kw.pop("column_config", None) or {})
        st.dataframe(df, hide_index=True, column_config=config, **dataframe_kw)
        return

    def cell(v):
        if isinstance(v, numbers.Real) and not isinstance(v, (bool, numbers.Integral)):
            return "–" if v != v else f"{v:.{digits}f}"
        if isinstance(v, numbers.Integral) and not isinstance(v, bool):
            return f"{v:,}"
        return md_escape(v, 200)

    shown = df.head(PRESENTER_ROWS).map(cell)
    shown.columns = [md_escape(c, 80) for c in df.columns]
    st.table(shown, hide_index=True)
    if len(df) > PRESENTER_ROWS:
        st.caption(f"The first {PRESENTER_ROWS} of {len(df):,} rows (all of them outside presenter mode).")
