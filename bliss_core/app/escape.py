"""Data strings made safe to show: plain-text display and Markdown escaping.

Kept apart from :mod:`.frame` (which imports the data sources) so that any app module can
escape a string without an import cycle.
"""

from __future__ import annotations

import re
from typing import Any

from ..core.text import shorten, strip_control


def display(text: Any, limit: int = 120) -> str:
    """A data string ready to show: control and bidi-override characters removed (they could
    reverse the app's own text around it), cut to ``limit`` characters with an ellipsis."""
    return shorten(strip_control(text), limit)


def md_escape(text: Any, limit: int = 120) -> str:
    """A data string for a Markdown context (alerts, widget labels) that renders as plain text:
    no links, images, emphasis, icons, colours, maths or HTML from data; see :func:`display`."""
    text = display(text, limit).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~$:@=])", r"\\\1", text)
