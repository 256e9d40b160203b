"""Text that comes from people and data: prompts, label cleaning, and safe display and export.

Class names, image ids, file names and typed labels are data, never markup or commands. The
helpers here make them safe for each place they end up: :func:`strip_control` for labels a model
will read, :func:`printable` for a terminal (control characters shown escaped), :func:`shorten`
for narrow places (an ellipsis), and :func:`csv_cell` for spreadsheets (OWASP's rule against
formula injection).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

__all__ = [
    "BIDI_CONTROLS",
    "DEFAULT_PROMPT",
    "MAX_LABEL_CHARS",
    "clean_labels",
    "csv_cell",
    "csv_row",
    "fill_prompt",
    "printable",
    "shorten",
    "strip_control",
]

#: The prompt of the paper and of every default in bliss-lab.
DEFAULT_PROMPT = "This is a photo of a {}"
MAX_LABEL_CHARS = 200
#: Unicode bidirectional controls: embedded in a name they can reverse the text around it.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def fill_prompt(template: str, text: str) -> str:
    """``template`` with ``{}`` replaced by ``text`` (no other formatting is interpreted)."""
    return template.replace("{}", str(text))


def strip_control(text: Any) -> str:
    """Remove control and bidi-override characters; collapse runs of whitespace."""
    text = "".join(" " if ch in "\t\n\r" else ch for ch in str(text))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" and ch not in BIDI_CONTROLS)
    return re.sub(r"\s+", " ", text).strip()


def clean_labels(raw: Sequence[str] | str, max_chars: int = MAX_LABEL_CHARS) -> tuple[list[str], list[str]]:
    """Clean free-text labels: returns (usable labels, messages about the ones dropped).

    ``raw`` may be a list or one string with one label per line / comma-separated. Empty,
    duplicate (case-insensitive) and over-long labels are dropped with a message; never raises.
    """
    if isinstance(raw, str):
        raw = [p for line in raw.splitlines() for p in line.split(",")]
    labels: list[str] = []
    messages: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, start=1):
        original = str(item)
        label = strip_control(original)
        if not label:
            if original.strip():
                messages.append(f"Label {i} held only control characters and was ignored.")
            continue
        if len(label) > max_chars:
            messages.append(
                f"Label {i} is {len(label)} characters long (the limit is {max_chars}); it was ignored."
            )
            continue
        key = label.casefold()
        if key in seen:
            messages.append(f"Label {i} ('{label}') repeats an earlier label and was ignored.")
            continue
        seen.add(key)
        labels.append(label)
    return labels, messages


def printable(text: Any) -> str:
    """``text`` for a terminal or a log: control, bidi and other invisible format characters
    shown as escapes (``\\x1b``, ``\\u202e``), so a file name cannot move the cursor, recolour
    the screen or reverse the words around it."""
    out = []
    for ch in str(text):
        cat = unicodedata.category(ch)
        if ch in BIDI_CONTROLS or cat in ("Cc", "Cf", "Zl", "Zp"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def shorten(text: Any, limit: int = 60) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis when cut."""
    text = str(text)
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs as a formula: text starting with ``= + - @``, a tab
    or a carriage return gets a leading apostrophe (OWASP). Numbers and booleans pass as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_row(values: Sequence[Any]) -> list[Any]:
    """:func:`csv_cell` applied to every cell of a row."""
    return [csv_cell(v) for v in values]
