"""The evaluation protocol's normal/anomaly splits, and the checks on a choice of normal classes.

Splits are lists of class indices. Wherever a person names classes (``--normal``,
``--normal-sets``, the app), names work as well as indices; :func:`check_normal` is the one
place that decides whether a choice of normal classes can be scored on a bundle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import SplitError

__all__ = [
    "CIFAR10_CLASSES",
    "SETUPS",
    "SplitError",
    "canonical_setup",
    "check_normal",
    "parse_classes",
    "parse_normal_sets",
    "setup_splits",
    "validate_splits",
]


CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

# CIFAR-10 "6" setup (splits from the ZOC paper), torchvision class order.
CIFAR10_ZOC_SPLITS = [
    [0, 1, 9, 7, 3, 2],
    [0, 2, 4, 3, 7, 5],
    [5, 1, 9, 8, 7, 0],
    [5, 7, 1, 8, 4, 6],
    [8, 1, 5, 3, 4, 6],
]

CIFAR100_20_SPLITS = [list(range(start, start + 20)) for start in range(0, 100, 20)]

# Indices into the sorted wnid folder names of tiny-imagenet-200.
TINYIMAGENET_CAC_SPLITS = [
    [192, 112, 145, 107, 91, 180, 144, 193, 10, 125, 186, 28, 72, 124, 54, 77, 157, 169, 104, 166],
    [156, 157, 167, 175, 153, 11, 147, 0, 199, 171, 132, 60, 87, 190, 101, 111, 193, 71, 131, 192],
    [28, 15, 103, 33, 90, 167, 61, 13, 124, 159, 49, 12, 54, 78, 82, 107, 80, 25, 140, 46],
    [128, 132, 123, 72, 154, 35, 86, 10, 188, 28, 85, 89, 91, 82, 116, 65, 96, 41, 134, 25],
    [102, 79, 47, 106, 59, 93, 145, 10, 62, 175, 76, 183, 48, 130, 38, 186, 44, 8, 29, 26],
]

SETUP_ALIASES = {"1": "one-class", "9": "leave-one-out", "6": "cifar10-zoc"}
SETUPS = ("one-class", "leave-one-out", "cifar10-zoc", "cifar100-20", "tinyimagenet-cac")
_FIXED = {
    "cifar10-zoc": (10, CIFAR10_ZOC_SPLITS),
    "cifar100-20": (100, CIFAR100_20_SPLITS),
    "tinyimagenet-cac": (200, TINYIMAGENET_CAC_SPLITS),
}


def canonical_setup(name: str) -> str:
    key = SETUP_ALIASES.get(str(name).strip(), str(name).strip())
    if key not in SETUPS:
        raise SplitError(
            f"unknown setup {name!r}; choose one of {', '.join(SETUPS)} (or the paper's 1, 6, 9 for CIFAR-10)."
        )
    return key


def setup_splits(name: str, n_classes: int) -> list[list[int]]:
    """The splits (lists of normal class indices) of a named setup for a dataset of ``n_classes``."""
    key = canonical_setup(name)
    if key == "one-class":
        return [[c] for c in range(n_classes)]
    if key == "leave-one-out":
        if n_classes < 2:
            raise SplitError("leave-one-out needs at least two classes.")
        return [[c for c in range(n_classes) if c != held] for held in range(n_classes)]
    expected, splits = _FIXED[key]
    if n_classes != expected:
        raise SplitError(f"setup {key} is defined for {expected} classes but the bundle has {n_classes}.")
    return [list(s) for s in splits]


def _class_token(token: str, class_names: Sequence[str] | None) -> int:
    """One class by index (``3``) or, given the names, by name (``cat``, case-insensitive)."""
    tok = token.strip()
    if tok.lstrip("-").isdigit():
        return int(tok)
    if class_names is not None:
        exact = [i for i, n in enumerate(class_names) if n == tok]
        if exact:
            return exact[0]
        folded = [i for i, n in enumerate(class_names) if n.casefold() == tok.casefold()]
        if folded:
            return folded[0]
        shown = ", ".join(class_names[:12]) + (" …" if len(class_names) > 12 else "")
        raise SplitError(f"no class is called {tok[:60]!r}; the classes are: {shown}.")
    raise SplitError(f"{tok[:60]!r} is not a class index.")


def parse_classes(text: str | Sequence[Any], class_names: Sequence[str] | None = None) -> list[int]:
    """``"airplane,ship"`` or ``"0,8"`` (or a list of names/indices) into class indices."""
    tokens = str(text).split(",") if isinstance(text, str) else [str(t) for t in text]
    out = [_class_token(t, class_names) for t in tokens if t.strip()]
    if not out:
        raise SplitError("name at least one normal class, e.g. '0' or 'airplane'.")
    return out


def parse_normal_sets(text: str, class_names: Sequence[str] | None = None) -> list[list[int]]:
    """Parse ``"0,1;2;3,4"`` into ``[[0, 1], [2], [3, 4]]``; with ``class_names``, names work
    too (``"airplane;cat,dog"``)."""
    splits = []
    for part in str(text).split(";"):
        part = part.strip()
        if not part:
            raise SplitError(
                f"empty split in --normal-sets {text!r}; separate splits with ';' and classes with ','."
            )
        splits.append(parse_classes(part, class_names))
    return splits


def _check_exist(classes: Sequence[int], n: int) -> None:
    bad = [c for c in classes if not 0 <= c < n]
    if bad:
        raise SplitError(f"normal class {bad[0]} does not exist; the bundle has classes 0..{n - 1}.")


def validate_splits(splits: Sequence[Sequence[int]], class_names: Sequence[str]) -> list[list[int]]:
    """Check every split names existing, distinct classes and leaves at least one class out."""
    n = len(class_names)
    out = []
    for split in splits:
        split = [int(c) for c in split]
        if not split:
            raise SplitError("a split has no normal classes.")
        _check_exist(split, n)
        if len(set(split)) != len(split):
            raise SplitError(f"split {split} names a class twice.")
        if len(set(split)) == n:
            raise SplitError("every class is normal in a split, so there are no anomalies to detect.")
        out.append(split)
    return out


def check_normal(bundle: Any, normal: Sequence[int], *, allow_all_normal: bool = False) -> list[int]:
    """The normal classes of ``bundle``, sorted and distinct, checked for scoring: each exists
    and has normal reference (training) images, and (unless ``allow_all_normal``) at least one
    class is left to be anomalous. Raises :class:`SplitError` naming the class."""
    normal = sorted({int(c) for c in normal})
    names = bundle.class_names
    if not normal:
        raise SplitError("choose at least one normal class.")
    _check_exist(normal, len(names))
    if not allow_all_normal and len(normal) == len(names):
        raise SplitError(
            "every class is normal, so there are no anomalies to detect; leave at least one class out."
        )
    have = set(np.unique(bundle.image_label[bundle.image_is_train]).tolist())
    lacking = [c for c in normal if c not in have]
    if lacking:
        c = lacking[0]
        raise SplitError(f"normal class {c} ({names[c]}) has no reference (training) images in the bundle.")
    return normal
