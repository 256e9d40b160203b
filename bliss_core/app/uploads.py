"""Uploaded files: size and count limits before anything is read, then safe decoding."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .. import settings

IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]


def check_uploads(files: Sequence[Any]) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Size/count checks on Streamlit UploadedFile objects; returns (name, bytes) and messages."""
    max_files = settings.get("BLISS_MAX_UPLOAD_FILES")
    max_mb = settings.get("BLISS_MAX_UPLOAD_MB")
    ok: list[tuple[str, bytes]] = []
    msgs: list[str] = []
    files = list(files or [])
    if len(files) > max_files:
        msgs.append(
            f"{len(files)} files uploaded; only the first {max_files} are used (BLISS_MAX_UPLOAD_FILES)."
        )
        files = files[:max_files]
    for f in files:
        name = os.path.basename(str(getattr(f, "name", "upload")))
        size = int(getattr(f, "size", 0) or 0)
        if size > max_mb * 1024**2:
            msgs.append(f"{name}: {size / 1024**2:.1f} MB is above the {max_mb:g} MB limit; skipped.")
            continue
        data = f.getvalue() if hasattr(f, "getvalue") else f.read()
        ok.append((name, bytes(data)))
    return ok, msgs


def decode_uploads(pairs: Sequence[tuple[str, bytes]]) -> tuple[list[tuple[str, Any]], list[str]]:
    """Decode images (PIL) with the decoder's checks; refused files named in messages."""
    from ..embed.decode import images_from_uploads

    good, bad = images_from_uploads(pairs)
    return good, [f"{name}: {reason}." for name, reason in bad]


def upload_limit_mb() -> float:
    """The largest file an upload may hold (``BLISS_MAX_UPLOAD_MB``)."""
    return settings.get("BLISS_MAX_UPLOAD_MB")


def upload_limits_text() -> str:
    """The upload limits in words, for captions."""
    return (
        f"up to {settings.get('BLISS_MAX_UPLOAD_FILES')} files of {settings.get('BLISS_MAX_UPLOAD_MB'):g} MB"
    )
