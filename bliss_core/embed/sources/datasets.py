"""``cifar10`` / ``cifar100``: torchvision datasets, read from ``data_root`` (default
``$BLISS_DATA_ROOT`` or ``~/.cache/bliss-lab/datasets``), downloaded when online."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from PIL import Image

from ... import settings
from ...errors import DataError
from .items import ImageItem, ImageSource, display_name

__all__ = ["default_data_root", "open_torchvision"]


def default_data_root() -> Path:
    """Where torchvision datasets live: ``$BLISS_DATA_ROOT`` or ``~/.cache/bliss-lab/datasets``."""
    env = settings.get("BLISS_DATA_ROOT")
    return Path(env).expanduser() if env else settings.home_cache() / "datasets"


def _split(name: str, cls: Any, data_root: Path, train: bool) -> Any:
    """One split of a torchvision dataset, downloaded first when online and absent."""
    from ..network import reachable

    try:
        return cls(str(data_root), train=train, download=False)
    except RuntimeError:
        if not reachable("https://www.cs.toronto.edu"):
            raise DataError(
                f"{name} is not in {data_root} and this machine is offline; run once online, copy the torchvision "
                f"'{cls.base_folder}' folder there, or pass --data-root DIR."
            ) from None
    try:
        data_root.mkdir(parents=True, exist_ok=True)
        return cls(str(data_root), train=train, download=True)
    except Exception as exc:
        raise DataError(f"downloading {name} to {data_root} failed ({exc}).") from None


def _splits(name: str, data_root: Path) -> dict[bool, Any]:
    """The train (True) and test (False) datasets."""
    from torchvision import datasets  # lazy: torchvision imports torch

    cls = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
    return {train: _split(name, cls, data_root, train) for train in (True, False)}


def open_torchvision(name: str, data_root: Path, per_class_limit: int | None, style: str) -> ImageSource:
    """CIFAR-10 or CIFAR-100 as a source (torchvision's train = reference, test = test)."""
    splits = _splits(name, data_root)
    ds0 = splits[True]
    items: list[ImageItem] = []
    for train in (True, False):
        ds = splits[train]
        counts: dict[int, int] = {}
        for i, lab in enumerate(ds.targets):
            lab = int(lab)
            if per_class_limit is not None:
                if counts.get(lab, 0) >= per_class_limit:
                    continue
                counts[lab] = counts.get(lab, 0) + 1

            def pil(ds=ds, i=i) -> Image.Image:
                return Image.fromarray(ds.data[i]).convert("RGB")

            item = ImageItem(
                label=lab, is_train=train, image_id=f"{'train' if train else 'test'}/{i}", _pil=pil
            )
            item._key = hashlib.sha256(b"rgb32x32:" + ds.data[i].tobytes()).hexdigest()
            items.append(item)
    return ImageSource(
        spec=name,
        class_names=[display_name(c, style) for c in ds0.classes],
        items=items,
        meta={
            "class_folders": list(ds0.classes),
            "split_rule": "torchvision train = reference, test = test",
            "class_names": style,
        },
    )
