"""``tinyimagenet:PATH``: the standard ``tiny-imagenet-200`` folder (train/<wnid>/images,
val/images + val/val_annotations.txt, words.txt for the class names); val is the test set."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ...errors import DataError, ImageRejected
from ..decode import IMAGE_EXTENSIONS, extension
from .archive import unsafe_member
from .confine import FolderReader
from .items import ImageItem, ImageSource

__all__ = ["open_tinyimagenet"]


def _text(reader: FolderReader, rel: str) -> str:
    try:
        return reader.read(rel).decode("utf-8", errors="replace")
    except ImageRejected as exc:
        raise DataError(f"{reader.root / rel}: {exc.reason}.") from None


def _class_words(reader: FolderReader, wnids: list[str]) -> dict[str, str]:
    """The first name of every wnid in ``words.txt``; a wnid without one is a :class:`DataError`."""
    words: dict[str, str] = {}
    for ln in _text(reader, "words.txt").splitlines():
        if "\t" in ln:
            w, names = ln.split("\t", 1)
            words[w.strip()] = names.split(",")[0].strip()
    missing = [w for w in wnids if w not in words]
    if missing:
        raise DataError(
            f"{reader.root / 'words.txt'}: has no name for class {missing[0]} (and {len(missing) - 1} more)."
        )
    return words


def _train_items(
    reader: FolderReader, wnids: list[str], per_class_limit: int | None, skipped: list[tuple[str, str]]
) -> list[ImageItem]:
    items: list[ImageItem] = []
    for label, w in enumerate(wnids):
        img_dir = reader.root / "train" / w / "images"
        names = (
            sorted(n for n in os.listdir(img_dir) if extension(n) in IMAGE_EXTENSIONS)
            if img_dir.is_dir()
            else []
        )
        if not names:
            skipped.append((f"train/{w}/", "empty class folder (no images)"))
        for n in names[:per_class_limit]:
            rel = f"train/{w}/images/{n}"
            items.append(
                ImageItem(label=label, is_train=True, image_id=rel, _read=functools.partial(reader.read, rel))
            )
    return items


def _val_items(
    reader: FolderReader, index: dict[str, int], per_class_limit: int | None, skipped: list[tuple[str, str]]
) -> list[ImageItem]:
    items: list[ImageItem] = []
    per_class: dict[int, int] = {}
    for ln in sorted(_text(reader, "val/val_annotations.txt").splitlines()):
        fields = ln.split("\t")
        if len(fields) < 2:
            continue
        fname, w = fields[0].strip(), fields[1].strip()
        if w not in index:
            skipped.append((f"val/images/{fname}", f"annotation names unknown class {w}"))
            continue
        if unsafe_member(fname) or "/" in fname:
            skipped.append((fname, "unsafe file name in val_annotations.txt"))
            continue
        lab = index[w]
        if per_class_limit is not None and per_class.get(lab, 0) >= per_class_limit:
            continue
        per_class[lab] = per_class.get(lab, 0) + 1
        rel = f"val/images/{fname}"
        items.append(
            ImageItem(label=lab, is_train=False, image_id=rel, _read=functools.partial(reader.read, rel))
        )
    return items


def open_tinyimagenet(root: Path, per_class_limit: int | None, style: str) -> ImageSource:
    """List a tiny-imagenet-200 folder (or the folder holding it)."""
    if (root / "tiny-imagenet-200").is_dir() and not (root / "train").is_dir():
        root = root / "tiny-imagenet-200"
    train_dir, val_dir = root / "train", root / "val"
    ann = val_dir / "val_annotations.txt"
    if not train_dir.is_dir() or not ann.is_file():
        raise DataError(
            f"{root}: not a tiny-imagenet-200 folder (needs train/<wnid>/images and val/val_annotations.txt)."
        )
    if not (root / "words.txt").is_file():
        raise DataError(
            f"{root}: words.txt is missing, so the classes have no names (only wnids); copy it from "
            "the tiny-imagenet-200 download."
        )
    reader = FolderReader(root)
    wnids = sorted(
        d.name
        for d in train_dir.iterdir()
        if d.is_dir() and not d.is_symlink() and not d.name.startswith(".")
    )
    if not wnids:
        raise DataError(f"{train_dir}: no class folders found.")
    words = _class_words(reader, wnids)
    skipped: list[tuple[str, str]] = []
    items = _train_items(reader, wnids, per_class_limit, skipped)
    items += _val_items(reader, {w: i for i, w in enumerate(wnids)}, per_class_limit, skipped)
    items.sort(key=lambda it: (not it.is_train, it.label, it.image_id))
    return ImageSource(
        spec=f"tinyimagenet:{root}",
        class_names=[words[w] for w in wnids],
        items=items,
        skipped=skipped,
        meta={
            "class_folders": wnids,
            "split_rule": "train folder = reference, val = test",
            "class_names": style,
        },
    )
