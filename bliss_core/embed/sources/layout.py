"""Class folders and splits from a list of image paths: what the folder and zip readers share.

One sub-folder per class, optionally under ``train/`` and ``test/`` (``val/`` counts as test),
possibly inside one top folder (``cifar10/train/...``). Without a train/test split, images of
each class are split deterministically: in sorted file-name order every fifth image (positions
4, 9, 14, ...) is a test image, the rest are training (normal reference) images, i.e. 80/20.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from pathlib import PurePosixPath

from .items import ImageItem, ImageSource, display_name

__all__ = [
    "MAX_FOLDER_DEPTH",
    "SPLIT_TEST",
    "SPLIT_TRAIN",
    "build_items",
    "classify_paths",
    "hidden",
    "make_source",
    "report_empty_dirs",
    "split_rule",
]

MAX_FOLDER_DEPTH = 32
SPLIT_TRAIN = ("train",)
SPLIT_TEST = ("test", "val")

Entry = tuple[str, str, str]  # (path, split: 'train', 'test' or '', class folder)


def hidden(parts: Sequence[str]) -> bool:
    """A path with a hidden part (``.git``, ``__MACOSX``): never listed, never reported."""
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def classify_paths(rel_paths: list[str]) -> tuple[list[Entry], list[tuple[str, str]]]:
    """Map relative image paths to (path, split, class); split is 'train', 'test' or ''.

    A single common top folder is stripped (``cifar10/train/cat/1.jpg``). Returns the mapped
    entries and (path, reason) for images that sit outside any class folder.
    """
    parts = {p: PurePosixPath(p).parts for p in rel_paths}
    prefix = 0
    while True:
        firsts = {v[prefix] for v in parts.values() if len(v) > prefix}
        if (
            len(firsts) == 1
            and all(len(v) >= prefix + 3 for v in parts.values())
            and next(iter(firsts)).lower() not in SPLIT_TRAIN + SPLIT_TEST
        ):
            prefix += 1
            continue
        break
    out: list[Entry] = []
    bad: list[tuple[str, str]] = []
    has_split = any(
        len(v) > prefix + 2 and v[prefix].lower() in SPLIT_TRAIN + SPLIT_TEST for v in parts.values()
    )
    for p, v in parts.items():
        rest = v[prefix:]
        if has_split:
            if len(rest) >= 3 and rest[0].lower() in SPLIT_TRAIN + SPLIT_TEST:
                split = "train" if rest[0].lower() in SPLIT_TRAIN else "test"
                out.append((p, split, rest[1]))
            else:
                bad.append((p, "not inside a train/<class>/ or test/<class>/ folder"))
        elif len(rest) >= 2:
            out.append((p, "", rest[0]))
        else:
            bad.append((p, "not inside a class folder"))
    return out, bad


def build_items(
    entries: list[Entry],
    read: Callable[[str], bytes],
    per_class_limit: int | None,
) -> tuple[list[str], list[ImageItem]]:
    """The sorted class folders and the items (train first), ``per_class_limit`` per split."""
    folders = sorted({c for _, _, c in entries})
    index = {c: i for i, c in enumerate(folders)}
    groups: dict[tuple[str, str], list[str]] = {}
    for p, split, c in entries:
        groups.setdefault((c, split), []).append(p)
    items: list[ImageItem] = []
    for (c, split), paths in sorted(groups.items()):
        paths.sort()
        if split == "":
            train = [p for i, p in enumerate(paths) if i % 5 != 4]
            test = [p for i, p in enumerate(paths) if i % 5 == 4]
            chosen = [(p, True) for p in train[:per_class_limit]] + [
                (p, False) for p in test[:per_class_limit]
            ]
        else:
            chosen = [(p, split == "train") for p in paths[:per_class_limit]]
        for p, is_train in chosen:
            items.append(
                ImageItem(label=index[c], is_train=is_train, image_id=p, _read=functools.partial(read, p))
            )
    items.sort(key=lambda it: (not it.is_train, it.label, it.image_id))
    return folders, items


def split_rule(entries: list[Entry]) -> str:
    """The train/test rule the entries follow, in words (stored in the bundle's meta)."""
    if any(s for _, s, _ in entries):
        return "train/test folders"
    return "no train/test folders: every 5th image per class (sorted names) is test, the rest train"


def report_empty_dirs(all_dirs: Iterable[str], with_images: set[str], skipped: list[tuple[str, str]]) -> None:
    """Add every listed folder that holds no image, directly or below, to ``skipped``."""
    ancestors: set[str] = set()
    for d in with_images:
        p = PurePosixPath(d)
        ancestors.add(str(p))
        ancestors.update(str(a) for a in p.parents)
    skipped.extend(
        (d + "/", "empty class folder (no images)")
        for d in sorted(set(all_dirs))
        if d not in ancestors and not hidden(PurePosixPath(d).parts)
    )


def make_source(
    spec: str,
    folders: list[str],
    items: list[ImageItem],
    skipped: list[tuple[str, str]],
    entries: list[Entry],
    style: str,
    closers: list | None = None,
) -> ImageSource:
    """The :class:`ImageSource` of a listed folder or zip."""
    return ImageSource(
        spec=spec,
        class_names=[display_name(f, style) for f in folders],
        items=items,
        skipped=skipped,
        meta={"class_folders": folders, "split_rule": split_rule(entries), "class_names": style},
        _closers=closers or [],
    )
