"""``zip:PATH`` and uploaded zips: members read in memory, never extracted.

Hostile members (zip-slip names, absolute paths, symlinks, nested archives, zip bombs, folders
nested absurdly deep) are skipped and reported by name with a reason.
"""

from __future__ import annotations

import io
import stat
import threading
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from ... import settings
from ...errors import DataError, ImageRejected
from ...files import NotRegularFile, open_regular
from ..decode import ARCHIVE_EXTENSIONS, IMAGE_EXTENSIONS, extension
from .items import ImageSource, check_limit
from .layout import MAX_FOLDER_DEPTH, build_items, classify_paths, hidden, make_source, report_empty_dirs

__all__ = [
    "MAX_COMPRESSION_RATIO",
    "ZipReader",
    "open_zip",
    "open_zip_bytes",
    "open_zip_path",
    "unsafe_member",
]

MAX_COMPRESSION_RATIO = 200.0


class ZipReader:
    """Reads members of one open zip archive (thread-safe; never extracts)."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.lock = threading.Lock()

    def read(self, member: str) -> bytes:
        limit = settings.get("BLISS_MAX_FILE_BYTES")
        try:
            with self.lock, self.zf.open(member) as fh:
                data = fh.read(limit + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError) as exc:
            raise ImageRejected(member, f"cannot read archive member ({exc})") from None
        if len(data) > limit:
            raise ImageRejected(member, "member expands beyond its declared size (zip bomb?)")
        return data


def unsafe_member(name: str) -> str | None:
    """Why a member name must never be read (absolute, ``..``, NUL), or None."""
    if "\\" in name:
        name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path in archive refused"
    if any(p == ".." for p in name.split("/")):
        return "path with '..' in archive refused (zip-slip)"
    if "\x00" in name:
        return "member name contains a NUL byte"
    return None


def open_zip(
    fh: IO[bytes],
    label: str,
    per_class_limit: int | None,
    style: str,
    max_images: int | None = None,
    max_classes: int | None = None,
) -> ImageSource:
    """Open the zip held by ``fh`` and list it; the archive is closed with the source."""
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise DataError(f"{label}: not a readable zip archive ({exc}).") from None
    try:
        return _list_zip(zf, label, per_class_limit, style, max_images, max_classes)
    except BaseException:
        zf.close()
        raise


def _list_zip(
    zf: zipfile.ZipFile,
    label: str,
    per_class_limit: int | None,
    style: str,
    max_images: int | None,
    max_classes: int | None,
) -> ImageSource:
    max_file = settings.get("BLISS_MAX_FILE_BYTES")
    max_total = settings.get("BLISS_MAX_ZIP_TOTAL_BYTES")
    images: list[str] = []
    skipped: list[tuple[str, str]] = []
    dirs: list[str] = []
    dirs_with_images: set[str] = set()
    total = 0
    for info in zf.infolist():
        name = info.filename
        reason = unsafe_member(name)
        if reason:
            skipped.append((name, reason))
            continue
        parts = PurePosixPath(name).parts
        if hidden(parts):
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            skipped.append((name, "symlink in archive skipped"))
            continue
        if info.is_dir():
            dirs.append(name.rstrip("/"))
            continue
        if len(parts) > MAX_FOLDER_DEPTH + 1:
            skipped.append((name, f"nested deeper than {MAX_FOLDER_DEPTH} folders; skipped"))
            continue
        dirs.extend("/".join(parts[:i]) for i in range(1, len(parts)))
        ext = extension(name)
        if ext in ARCHIVE_EXTENSIONS:
            skipped.append((name, "nested archive skipped"))
            continue
        if ext not in IMAGE_EXTENSIONS:
            skipped.append((name, "not an image file"))
            continue
        if info.file_size > max_file:
            skipped.append((name, f"member is larger than {max_file // 1024**2} MiB (zip bomb?)"))
            continue
        if info.file_size > 1024 * 1024 and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            skipped.append(
                (name, f"compression ratio above {MAX_COMPRESSION_RATIO:.0f}:1 refused (zip bomb?)")
            )
            continue
        total += info.file_size
        if total > max_total:
            raise DataError(
                f"{label}: images would expand to more than {max_total / 1024**3:.0f} GiB; refused as a possible zip bomb."
            )
        images.append(name)
        dirs_with_images.add(str(PurePosixPath(name).parent))
    if not images:
        raise DataError(
            f"{label}: no image files found in the archive (expected one folder of images per class)."
        )
    entries, bad = classify_paths(images)
    skipped.extend(bad)
    n_classes = len({c for _, _, c in entries})
    if max_classes is not None and n_classes > max_classes:
        raise DataError(
            f"{label}: {n_classes:,} class folders, more than the {max_classes:,} allowed here "
            "(BLISS_MAX_UPLOAD_CLASSES)."
        )
    report_empty_dirs(dirs, dirs_with_images, skipped)
    folders, items = build_items(entries, ZipReader(zf).read, per_class_limit)
    if max_images is not None and len(items) > max_images:
        raise DataError(
            f"{label}: {len(items):,} images to embed, more than the {max_images:,} allowed here "
            "(BLISS_MAX_UPLOAD_IMAGES); lower the images per class or upload fewer."
        )
    return make_source(f"zip:{label}", folders, items, skipped, entries, style, [zf.close])


def open_zip_path(path: Path, label: str, per_class_limit: int | None, style: str) -> ImageSource:
    """Open a zip file by path (regular files only); ``label`` names it in messages."""
    try:
        fh = open_regular(path)
    except FileNotFoundError:
        raise DataError(f"{label}: no such zip file.") from None
    except NotRegularFile as exc:
        what = "a folder (use folder:PATH)" if exc.kind == "folder" else f"a {exc.kind}, not a regular file"
        raise DataError(f"{label}: is {what}.") from None
    except OSError as exc:
        raise DataError(f"{label}: cannot be opened ({exc.strerror or exc}).") from None
    try:
        source = open_zip(fh, label, per_class_limit, style)
    except BaseException:
        fh.close()
        raise
    source._closers.append(fh.close)
    return source


def open_zip_bytes(
    data: bytes,
    name: str = "upload.zip",
    per_class_limit: int | None = None,
    max_images: int | None = None,
    max_classes: int | None = None,
) -> ImageSource:
    """Open an uploaded zip (class folders, optional train/test) held in memory; ``max_images``
    and ``max_classes`` cap the work it can ask for, checked before anything is decoded."""
    return open_zip(io.BytesIO(data), name, check_limit(per_class_limit), "readable", max_images, max_classes)
