"""Tables the app offers for download: CSV that no spreadsheet runs as a formula."""

from __future__ import annotations

import pandas as pd

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
