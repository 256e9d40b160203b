"""The item model every source produces: images with a label, a split and a way to read them."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from ...errors import DataError, ImageRejected
from ..decode import decode_image

__all__ = ["CLASS_NAME_STYLES", "ImageItem", "ImageSource", "check_limit", "display_name"]

#: ``readable``: folder names with underscores as spaces (``aquarium fish``, the default);
#: ``official``: the names as the dataset writes them (``aquarium_fish``, as the published prompts).
CLASS_NAME_STYLES = ("readable", "official")


@dataclass
class ImageItem:
    """One image of a source: label index, split, id, and how to read it."""

    label: int
    is_train: bool
    image_id: str
    _read: Callable[[], bytes] | None = field(default=None, repr=False)
    _pil: Callable[[], Image.Image] | None = field(default=None, repr=False)
    _key: str | None = field(default=None, repr=False)

    def read_bytes(self) -> bytes:
        """Raw encoded bytes of the image (file-backed sources)."""
        if self._read is None:
            raise ImageRejected(self.image_id, "this image has no encoded bytes")
        return self._read()

    def load(self) -> Image.Image:
        """The decoded RGB image; raises :class:`ImageRejected`."""
        if self._pil is not None:
            return self._pil()
        return decode_image(self.read_bytes(), self.image_id)

    def content_key(self) -> str:
        """SHA-256 of the image content, used as the embedding-cache key."""
        if self._key is None:
            if self._read is not None:
                try:
                    self._key = hashlib.sha256(self._read()).hexdigest()
                except ImageRejected:
                    self._key = hashlib.sha256(b"unreadable:" + self.image_id.encode()).hexdigest()
            else:
                im = self.load()
                h = hashlib.sha256(f"{im.mode}:{im.size}".encode())
                h.update(im.tobytes())
                self._key = h.hexdigest()
        return self._key


@dataclass
class ImageSource:
    """An opened data source: classes, items and the files skipped while listing it."""

    spec: str
    class_names: list[str]
    items: list[ImageItem]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for fn in self._closers:
            with contextlib.suppress(Exception):  # closing is best effort, every closer runs
                fn()
        self._closers.clear()

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def display_name(folder: str, style: str = "readable") -> str:
    """A class folder's name as shown in the ``style`` of :data:`CLASS_NAME_STYLES`."""
    return folder if style == "official" else folder.replace("_", " ").strip()


def check_limit(per_class_limit: int | None) -> int | None:
    """The per-class limit as a positive int (or None); anything else is a :class:`DataError`."""
    if per_class_limit is None:
        return None
    try:
        n = int(per_class_limit)
    except (TypeError, ValueError, OverflowError):
        n = 0
    if n <= 0 or n != per_class_limit:
        raise DataError(f"per-class limit must be a positive whole number, got {per_class_limit}.")
    return n
