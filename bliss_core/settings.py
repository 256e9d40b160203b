"""Every ``BLISS_*`` environment variable, read in one place, with its default.

Values are read when asked for (``settings.get("BLISS_MAX_UPLOAD_MB")``), not when this module
is imported, so a test or an operator can change them without restarting Python. A value that
cannot be parsed raises :class:`~bliss_core.errors.SettingError` naming the variable.
``SETTINGS`` is the table the README's settings section is written from.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SettingError

__all__ = ["SETTINGS", "Setting", "get", "home_cache", "is_set"]


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default, parser and what it is for."""

    name: str
    default: Any
    parse: Callable[[str], Any]
    help: str
    shared_server: bool = False  # listed in the README's "Settings for a shared server"


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def _positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if not value > 0 or value != value or value == float("inf"):
            raise ValueError("expected a positive finite number")
        return value

    return parse


def _int(text: str) -> int:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")) or value != int(value):
        raise ValueError("expected a whole number")
    return int(value)


def home_cache() -> Path:
    """``~/.cache/bliss-lab``: the parent of the default caches."""
    return Path.home() / ".cache" / "bliss-lab"


_ALL = [
    # -- what the app opens and may read ---------------------------------------------------
    Setting(
        "BLISS_BUNDLE",
        "",
        str,
        "Bundle file(s) the app opens at start; several separated by the path separator (':' on Linux). "
        "The operator's way to offer bundles on a shared server.",
    ),
    Setting(
        "BLISS_DATA_ROOT",
        "",
        str,
        "The only folder whose files the app may read (folder:/zip: sources, CIFAR files, pictures of "
        "BLISS_BUNDLE images), resolved, with no escape through '..' or symlinks. Unset: the app reads no "
        "server path. Also the CLI's default --data-root for torchvision datasets.",
        True,
    ),
    # -- limits on what a visitor can send --------------------------------------------------
    Setting(
        "BLISS_MAX_UPLOAD_MB",
        200.0,
        _positive(float),
        "Largest uploaded file (MB) the app accepts (Streamlit's server.maxUploadSize applies too).",
        True,
    ),
    Setting("BLISS_MAX_UPLOAD_FILES", 64, _positive(_int), "Most image files one upload may hold.", True),
    Setting(
        "BLISS_MAX_BUNDLE_MB",
        1024.0,
        _positive(float),
        "Largest bundle (MB of arrays, read from the .npy headers before anything is decompressed) an "
        "upload may declare.",
        True,
    ),
    Setting(
        "BLISS_MAX_UPLOAD_IMAGES",
        2000,
        _positive(_int),
        "Most images an uploaded zip may list for embedding (checked before any work).",
        True,
    ),
    Setting("BLISS_MAX_UPLOAD_CLASSES", 100, _positive(_int), "Most classes an uploaded zip may list.", True),
    # -- images -------------------------------------------------------------------------------
    Setting(
        "BLISS_MAX_IMAGE_PIXELS",
        40_000_000,
        _positive(_int),
        "Largest image (pixels) decoded; larger ones are refused as decompression bombs.",
    ),
    Setting("BLISS_MAX_FILE_BYTES", 64 * 1024**2, _positive(_int), "Largest single image file (bytes)."),
    Setting(
        "BLISS_MAX_ZIP_TOTAL_BYTES",
        32 * 1024**3,
        _positive(_int),
        "Largest total expanded size of a zip's images (bytes).",
    ),
    # -- caches ---------------------------------------------------------------------------------
    Setting(
        "BLISS_CACHE_DIR",
        "",
        str,
        "Embedding cache folder (default ~/.cache/bliss-lab/embeddings). Created private (0700).",
        True,
    ),
    Setting(
        "BLISS_CACHE_SHARED",
        False,
        _bool,
        "1: the operator shares the embedding cache between users on purpose; folders are created "
        "group-writable (0770) instead of private.",
        True,
    ),
    Setting(
        "BLISS_PROJECTION_CACHE",
        "",
        str,
        "Projection cache folder (default $BLISS_CACHE_DIR/projections or ~/.cache/bliss-lab/projections); "
        "'off' disables it.",
    ),
    Setting("BLISS_PROJECTION_CACHE_FILES", 256, _positive(_int), "Most projection files kept on disk."),
    Setting(
        "BLISS_CACHE_TTL_S", 3600, _positive(_int), "Seconds the app keeps an unused cached computation."
    ),
    Setting(
        "BLISS_MMAP_MB",
        256.0,
        _positive(float),
        "Bundles whose image embeddings take at least this many MB (as stored) are memory-mapped "
        "from the file instead of read into memory (load_bundle(..., mmap=None)).",
    ),
    # -- running ----------------------------------------------------------------------------------
    Setting(
        "BLISS_DEVICE",
        "auto",
        str,
        "Device for scoring in the app: auto (a CUDA GPU when there is one), cpu or cuda.",
    ),
    Setting("BLISS_LOG_LEVEL", "INFO", str, "Log level of the app's server log."),
]

SETTINGS: dict[str, Setting] = {s.name: s for s in _ALL}


def is_set(name: str) -> bool:
    """Whether the variable is set to something other than blanks."""
    if name not in SETTINGS:
        raise KeyError(f"unknown setting {name}")
    return bool(os.environ.get(name, "").strip())


def get(name: str) -> Any:
    """The current value of ``name`` (its default when unset or blank)."""
    try:
        setting = SETTINGS[name]
    except KeyError:
        raise KeyError(f"unknown setting {name}; known: {', '.join(SETTINGS)}") from None
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return setting.default
    try:
        return setting.parse(raw.strip())
    except (TypeError, ValueError, OverflowError) as exc:
        raise SettingError(
            f"{name}={raw!r} cannot be used ({exc}); unset it for the default {setting.default!r}."
        ) from None
