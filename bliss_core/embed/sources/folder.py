"""``folder:PATH``: one sub-folder of images per class, read in place, never outside the folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from ...errors import DataError
from ...files import file_kind
from ..decode import ARCHIVE_EXTENSIONS, IMAGE_EXTENSIONS, extension
from .confine import FolderReader
from .items import ImageSource
from .layout import MAX_FOLDER_DEPTH, build_items, classify_paths, make_source, report_empty_dirs

__all__ = ["open_folder"]


def open_folder(root: Path, per_class_limit: int | None, style: str) -> ImageSource:
    """List the images below ``root`` (see :mod:`.layout` for the class folders and splits)."""
    if not root.exists():
        raise DataError(f"{root}: no such folder.")
    if not root.is_dir():
        raise DataError(f"{root}: is not a folder (use zip:PATH for archives).")
    reader = FolderReader(root)
    images: list[str] = []
    skipped: list[tuple[str, str]] = []
    dirs_with_images: set[str] = set()
    all_dirs: list[str] = []
    todo: list[tuple[str, str, int]] = [(str(root), "", 0)]  # an explicit stack: no recursion limit to hit
    while todo:
        d, rel, depth = todo.pop()
        try:
            listing = sorted(os.scandir(d), key=lambda e: e.name, reverse=True)
        except OSError as exc:
            skipped.append((rel or ".", f"cannot list folder ({exc.strerror})"))
            continue
        for e in listing:
            r = f"{rel}/{e.name}" if rel else e.name
            if e.name.startswith(".") or e.name == "__MACOSX":
                continue
            try:
                if e.is_symlink():
                    if not reader.inside(e.path):
                        skipped.append((r, "symlink pointing outside the folder"))
                        continue
                    if e.is_dir():
                        skipped.append((r, "symlinked folder not followed"))
                        continue
                if e.is_dir(follow_symlinks=False):
                    if depth + 1 > MAX_FOLDER_DEPTH:
                        skipped.append(
                            (r + "/", f"folder nested deeper than {MAX_FOLDER_DEPTH} levels skipped")
                        )
                        continue
                    all_dirs.append(r)
                    todo.append((e.path, r, depth + 1))
                    continue
                mode = os.stat(e.path).st_mode
            except OSError as exc:
                skipped.append((r, f"cannot be read ({exc.strerror or exc})"))
                continue
            if not stat.S_ISREG(mode):
                skipped.append((r, f"not a regular file ({file_kind(mode)})"))
                continue
            ext = extension(e.name)
            if ext in ARCHIVE_EXTENSIONS:
                skipped.append((r, "nested archive skipped"))
            elif ext in IMAGE_EXTENSIONS:
                images.append(r)
                dirs_with_images.add(str(PurePosixPath(r).parent))
            else:
                skipped.append((r, "not an image file"))
    if not images:
        raise DataError(f"{root}: no image files found (expected one sub-folder of images per class).")
    entries, bad = classify_paths(images)
    skipped.extend(bad)
    report_empty_dirs(all_dirs, dirs_with_images, skipped)
    folders, items = build_items(entries, reader.read, per_class_limit)
    return make_source(f"folder:{root}", folders, items, skipped, entries, style)
