"""Image sources for ``bliss embed`` and the app.

Sources (``open_source(spec)``), one reader module per kind:

- ``cifar10`` / ``cifar100`` (:mod:`.datasets`): torchvision datasets, read from ``data_root``
  (default ``$BLISS_DATA_ROOT`` or ``~/.cache/bliss-lab/datasets``), downloaded when online.
- ``tinyimagenet:PATH`` (:mod:`.tinyimagenet`): the standard ``tiny-imagenet-200`` folder
  (train/<wnid>/images, val/images + val/val_annotations.txt, words.txt for the class names);
  val is the test set.
- ``folder:PATH`` / ``zip:PATH`` (:mod:`.folder`, :mod:`.archive`): one sub-folder per class,
  optionally under ``train/`` and ``test/`` (``val/`` counts as test), possibly inside one top
  folder (``cifar10/train/...``). Without a train/test split, images of each class are split
  deterministically: in sorted file-name order every fifth image (positions 4, 9, 14, ...) is a
  test image, the rest are training (normal reference) images, i.e. 80/20 (:mod:`.layout`).

Nothing is ever extracted or written: archive members are read in memory. Only regular files
are opened (a FIFO, device or socket is recognised before it is opened and never blocks), and
hostile inputs (zip-slip names, symlinks leaving the folder, nested archives, zip bombs,
folders nested absurdly deep) are refused and reported by name with a reason.

``confine_to`` (the app passes ``BLISS_DATA_ROOT``) resolves every path inside one folder and
refuses any that leaves it, through ``..`` or a symlink (:mod:`.confine`). Every source is an
:class:`ImageSource` of :class:`ImageItem` (:mod:`.items`).
"""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import DataError, ImageRejected
from .archive import open_zip_bytes, open_zip_path
from .confine import app_data_root, confined
from .datasets import default_data_root, open_torchvision
from .folder import open_folder
from .items import CLASS_NAME_STYLES, ImageItem, ImageSource, check_limit
from .layout import MAX_FOLDER_DEPTH
from .tinyimagenet import open_tinyimagenet

__all__ = [
    "CLASS_NAME_STYLES",
    "MAX_FOLDER_DEPTH",
    "DataError",
    "ImageItem",
    "ImageRejected",
    "ImageSource",
    "app_data_root",
    "default_data_root",
    "open_source",
    "open_zip_bytes",
]


def open_source(
    spec: str,
    data_root: str | os.PathLike | None = None,
    per_class_limit: int | None = None,
    confine_to: str | os.PathLike | None = None,
    class_names: str = "readable",
) -> ImageSource:
    """Open a data source named by ``spec`` (see the module docstring); raise :class:`DataError`.

    ``confine_to``: every path must resolve inside this folder (the app passes
    ``BLISS_DATA_ROOT``); torchvision datasets are then read from it too. ``class_names`` is
    one of :data:`CLASS_NAME_STYLES`.
    """
    spec = str(spec).strip()
    limit = check_limit(per_class_limit)
    if class_names not in CLASS_NAME_STYLES:
        raise DataError(f"unknown class-name style {class_names!r}; use {' or '.join(CLASS_NAME_STYLES)}.")
    confine = Path(confine_to) if confine_to is not None else None
    kind, sep, arg = spec.partition(":")
    kind = kind.lower()
    if not sep and kind in ("cifar10", "cifar100"):
        root = (
            confine
            if confine is not None
            else (Path(data_root).expanduser() if data_root else default_data_root())
        )
        return open_torchvision(kind, root, limit, class_names)
    if sep and kind in ("folder", "zip", "tinyimagenet"):
        if not arg:
            raise DataError(f"{kind}: needs a path, e.g. {kind}:/data/my_images.")
        path = confined(arg, confine, kind)
        if kind == "folder":
            return open_folder(path, limit, class_names)
        if kind == "zip":
            return open_zip_path(path, arg, limit, class_names)
        return open_tinyimagenet(path, limit, class_names)
    raise DataError(
        f"unknown data source '{spec}'; use cifar10, cifar100, tinyimagenet:PATH, folder:PATH or zip:PATH."
    )
