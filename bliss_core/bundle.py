"""Embedding bundles: one ``.npz`` file holding everything scoring needs.

A bundle is computed once (``bliss embed``, on whatever hardware has the model) and then
scored, evaluated and explored anywhere, with no model and no GPU. The format is public and
documented in the README; it is always written and read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write

REQUIRED_KEYS = (
    "image_emb",
    "image_label",
    "image_is_train",
    "class_names",
    "class_text_emb",
    "dict_names",
    "dict_text_emb",
    "meta",
)
OPTIONAL_KEYS = ("image_id",)
#: Refuse bundles whose arrays would need more memory than this when loaded (bytes).
MAX_BUNDLE_BYTES = int(os.environ.get("BLISS_MAX_BUNDLE_BYTES", 8 * 1024**3))


_OWNED = threading.local()  # ids of freshly loaded arrays that validation may normalise in place


class BundleError(ValueError):
    """A bundle file is missing, unreadable or inconsistent. The message is one sentence."""


def _sq_norms(x: np.ndarray) -> np.ndarray:
    """Squared row norms of a float32 array, without a full-size temporary."""
    return np.einsum("ij,ij->i", x, x)


def _normalise_rows(x: np.ndarray, what: str, where: str, sq: np.ndarray | None = None,
                    owned: bool = False) -> np.ndarray:
    """Rows of ``x`` scaled to unit length (float32); ``owned``: ``x`` may be divided in place."""
    if x.dtype != np.float32:
        x, owned = np.asarray(x, dtype=np.float32), True
    if sq is None:
        sq = _sq_norms(x)
    if not np.all(np.isfinite(sq)):  # float32 overflow of huge (finite) values: be exact
        sq = _sq_norms(x.astype(np.float64))
    norms = np.sqrt(sq)[:, None]
    if x.shape[0] and not np.all(norms > 0):
        bad = int(np.flatnonzero(norms[:, 0] <= 0)[0])
        raise BundleError(f"{where}: {what} row {bad} has zero length and cannot be normalised.")
    norms = norms.astype(np.float32)
    if owned:
        x /= norms
        return x
    return x / norms


@dataclass
class Bundle:
    """Image and text embeddings of one dataset under one model, L2-normalised.

    ``image_is_train`` marks the normal-reference (training) images; the rest are test images.
    """

    image_emb: np.ndarray
    image_label: np.ndarray
    image_is_train: np.ndarray
    class_names: list[str]
    class_text_emb: np.ndarray
    dict_names: list[str]
    dict_text_emb: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    image_id: list[str] | None = None

    def __post_init__(self) -> None:
        self.validate("bundle")

    # -- validation -------------------------------------------------------------------------
    def validate(self, where: str = "bundle") -> None:
        """Check shapes, dtypes, values and normalise embeddings; raise :class:`BundleError`."""
        img = np.asarray(self.image_emb)
        if img.ndim != 2 or img.shape[0] == 0 or img.shape[1] == 0:
            raise BundleError(f"{where}: image_emb must be a non-empty 2-D array, got shape {img.shape}.")
        if not np.issubdtype(img.dtype, np.floating):
            raise BundleError(f"{where}: image_emb must hold floats, got {img.dtype}.")
        n, d = img.shape
        for key, arr in (("class_text_emb", self.class_text_emb), ("dict_text_emb", self.dict_text_emb)):
            arr = np.asarray(arr)
            if arr.ndim != 2 or arr.shape[1] != d:
                raise BundleError(
                    f"{where}: {key} has shape {arr.shape} but image embeddings have dimension {d}."
                )
            if not np.issubdtype(arr.dtype, np.floating):
                raise BundleError(f"{where}: {key} must hold floats, got {arr.dtype}.")
        # A row's squared norm is finite exactly when all its entries are (squares are >= 0, so
        # an inf or NaN always shows), unless float32 overflows: only then check element-wise.
        checked = {}
        for key in ("image_emb", "class_text_emb", "dict_text_emb"):
            arr = np.asarray(getattr(self, key))
            x32 = np.asarray(arr, dtype=np.float32)
            sq = _sq_norms(x32)
            if not np.all(np.isfinite(sq)) and not np.all(np.isfinite(arr)):
                raise BundleError(f"{where}: {key} contains NaN or infinite values.")
            owned = (x32 is not arr and not np.shares_memory(x32, arr)) or id(arr) in getattr(_OWNED, "ids", ())
            checked[key] = (x32, sq, owned)
        for key in ("image_emb", "class_text_emb", "dict_text_emb"):
            x32, sq, owned = checked.pop(key)
            setattr(self, key, _normalise_rows(x32, key, where, sq, owned))

        labels = np.asarray(self.image_label)
        if labels.shape != (n,):
            raise BundleError(f"{where}: image_label has shape {labels.shape}, expected ({n},).")
        if not np.issubdtype(labels.dtype, np.integer):
            raise BundleError(f"{where}: image_label must hold integers, got {labels.dtype}.")
        self.image_label = labels.astype(np.int64)
        is_train = np.asarray(self.image_is_train)
        if is_train.shape != (n,) or is_train.dtype != np.bool_:
            raise BundleError(f"{where}: image_is_train must be a bool array of shape ({n},).")
        self.image_is_train = is_train

        self.class_names = [str(c) for c in self.class_names]
        self.dict_names = [str(c) for c in self.dict_names]
        n_classes = len(self.class_names)
        if n_classes == 0:
            raise BundleError(f"{where}: class_names is empty.")
        if self.class_text_emb.shape[0] != n_classes:
            raise BundleError(
                f"{where}: class_text_emb has {self.class_text_emb.shape[0]} rows for {n_classes} class names."
            )
        if len(self.dict_names) == 0:
            raise BundleError(f"{where}: dict_names is empty.")
        if self.dict_text_emb.shape[0] != len(self.dict_names):
            raise BundleError(
                f"{where}: dict_text_emb has {self.dict_text_emb.shape[0]} rows for {len(self.dict_names)} dictionary entries."
            )
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            bad = int(labels[(labels < 0) | (labels >= n_classes)][0])
            raise BundleError(f"{where}: image_label {bad} is out of range for {n_classes} classes.")
        if self.image_id is not None:
            self.image_id = [str(i) for i in self.image_id]
            if len(self.image_id) != n:
                raise BundleError(f"{where}: image_id has {len(self.image_id)} entries for {n} images.")
        if not isinstance(self.meta, dict):
            raise BundleError(f"{where}: meta must be a JSON object.")

    # -- convenience ------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self.image_emb.shape[1])

    @property
    def untrained(self) -> bool:
        """True when the embeddings came from a model with random weights."""
        return bool(self.meta.get("untrained", False))

    @property
    def is_simulation(self) -> bool:
        return bool(self.meta.get("simulation", False))

    @property
    def train_idx(self) -> np.ndarray:
        return np.flatnonzero(self.image_is_train)

    @property
    def test_idx(self) -> np.ndarray:
        return np.flatnonzero(~self.image_is_train)

    def describe(self) -> str:
        """One line a person can read: what model, how many images, classes and entries."""
        model = self.meta.get("model", "unknown model")
        tag = self.meta.get("pretrained", "")
        label = f"{model} ({tag})" if tag else str(model)
        if self.untrained:
            label += " [UNTRAINED: random weights]"
        if self.is_simulation:
            label = "SIMULATION (synthetic embeddings)"
        return (
            f"{label}: {int(self.image_is_train.sum())} reference + {int((~self.image_is_train).sum())} test images, "
            f"{len(self.class_names)} classes, {len(self.dict_names)} dictionary entries, D={self.dim}"
        )


def save_bundle(bundle: Bundle, path: str | os.PathLike, *, float16: bool = False) -> Path:
    """Write ``bundle`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    dtype = np.float16 if float16 else np.float32
    arrays: dict[str, np.ndarray] = {
        "image_emb": bundle.image_emb.astype(dtype),
        "image_label": bundle.image_label.astype(np.int64),
        "image_is_train": bundle.image_is_train.astype(bool),
        "class_names": np.array(bundle.class_names, dtype=str),
        "class_text_emb": bundle.class_text_emb.astype(np.float32),
        "dict_names": np.array(bundle.dict_names, dtype=str),
        "dict_text_emb": bundle.dict_text_emb.astype(np.float32),
        "meta": np.array(json.dumps(bundle.meta, sort_keys=True)),
    }
    if bundle.image_id is not None:
        arrays["image_id"] = np.array(bundle.image_id, dtype=str)
    with atomic_write(path) as fh:
        np.savez(fh, **arrays)
    return path


def _check_npz_members(path: Path) -> None:
    """Reject archives that would expand far beyond what a bundle can need."""
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile:
        raise BundleError(f"{path}: not an .npz bundle (the file is not a valid zip archive).") from None
    if total > MAX_BUNDLE_BYTES:
        raise BundleError(
            f"{path}: arrays would take {total / 1024**3:.1f} GiB, above the {MAX_BUNDLE_BYTES / 1024**3:.1f} GiB limit."
        )


def load_bundle(path: str | os.PathLike | Any) -> Bundle:
    """Read and validate a bundle; any problem raises :class:`BundleError` naming the file.

    ``path`` may be a path or a binary file object (an upload). Pickled objects are never
    loaded.
    """
    if isinstance(path, (str, os.PathLike)):
        where = str(path)
        p = Path(path)
        if not p.exists():
            raise BundleError(f"{p}: no such bundle file.")
        if p.is_dir():
            raise BundleError(f"{p}: is a folder, not a bundle file.")
        _check_npz_members(p)
        source: Any = p
    else:
        where = str(getattr(path, "name", "uploaded bundle"))
        source = path
    try:
        with np.load(source, allow_pickle=False) as npz:
            keys = set(npz.files)
            missing = [k for k in REQUIRED_KEYS if k not in keys]
            if missing:
                raise BundleError(f"{where}: missing required key(s) {', '.join(missing)}.")
            extra = sorted(keys - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
            data = {k: npz[k] for k in list(REQUIRED_KEYS) + [k for k in OPTIONAL_KEYS if k in keys]}
    except BundleError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise BundleError(f"{where}: holds pickled Python objects, which are never loaded.") from None
        raise BundleError(f"{where}: not a readable .npz bundle ({exc}).") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise BundleError(f"{where}: not a readable .npz bundle ({type(exc).__name__}: {exc}).") from None
    if extra:
        raise BundleError(f"{where}: unexpected key(s) {', '.join(extra)}; is this a bliss bundle?")
    meta_raw = data["meta"]
    try:
        meta = json.loads(str(meta_raw.item() if meta_raw.shape == () else meta_raw))
    except (ValueError, TypeError):
        raise BundleError(f"{where}: meta is not valid JSON.") from None
    for key in ("class_names", "dict_names") + (("image_id",) if "image_id" in data else ()):
        if data[key].dtype.kind not in "US" or data[key].ndim != 1:
            raise BundleError(f"{where}: {key} must be a 1-D array of strings.")
    if data["image_is_train"].dtype != np.bool_:
        raise BundleError(f"{where}: image_is_train must be a bool array, got {data['image_is_train'].dtype}.")
    _OWNED.ids = {id(data[k]) for k in ("image_emb", "class_text_emb", "dict_text_emb")}
    try:
        return Bundle(
            image_emb=data["image_emb"],
            image_label=data["image_label"],
            image_is_train=data["image_is_train"],
            class_names=data["class_names"].tolist(),
            class_text_emb=data["class_text_emb"],
            dict_names=data["dict_names"].tolist(),
            dict_text_emb=data["dict_text_emb"],
            meta=meta if isinstance(meta, dict) else {"_": meta},
            image_id=data["image_id"].tolist() if "image_id" in data else None,
        )
    except BundleError as exc:
        msg = str(exc)
        raise BundleError(msg.replace("bundle:", f"{where}:", 1)) from None
    finally:
        _OWNED.ids = ()
