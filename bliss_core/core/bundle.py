"""Embedding bundles: one ``.npz`` file holding everything scoring needs.

A bundle is computed once (``bliss embed``, on whatever hardware has the model) and then
scored, evaluated and explored anywhere, with no model and no GPU. The format is public and
documented in the README; it is always written and read with ``allow_pickle=False``.

Before anything is decompressed, :func:`load_bundle` reads every member's ``.npy`` header and
adds up the bytes the arrays declare (:mod:`.npz`), so a small file that claims a huge array (a
"bundle bomb") is refused in one sentence instead of exhausting memory.

Large bundles are memory-mapped: :func:`load_bundle` maps the stored bytes of ``image_emb``
(:func:`~.npz.mapped_member`; read-only, float16 or float32 as stored) instead of reading them,
checks them block by block, and the scoring kernels read them block by block.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import settings
from ..errors import BundleError, VectorError
from ..files import atomic_write, open_regular
from .npz import available_memory, bytes_needed, declared_sizes, fmt_bytes, mapped_member
from .vectors import squared_row_norms, unit_rows

__all__ = [
    "OPTIONAL_KEYS",
    "REQUIRED_KEYS",
    "Bundle",
    "BundleError",
    "available_memory",
    "declared_sizes",
    "load_bundle",
    "mapped_member",
    "save_bundle",
]

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
EMBEDDING_KEYS = ("image_emb", "class_text_emb", "dict_text_emb")


@dataclass
class Bundle:
    """Image and text embeddings of one dataset under one model, L2-normalised.

    ``image_is_train`` marks the normal-reference (training) images; the rest are test images.
    ``owned=True`` says the arrays were made for this bundle (freshly loaded), so validation
    may normalise them in place instead of copying.
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
    owned: InitVar[bool] = False

    def __post_init__(self, owned: bool) -> None:
        self.validate("bundle", owned=owned)

    # -- validation -------------------------------------------------------------------------
    def validate(self, where: str = "bundle", owned: bool = False) -> None:
        """Check shapes, dtypes, values and normalise embeddings; raise :class:`BundleError`."""
        img = np.asarray(self.image_emb)
        if img.ndim != 2 or img.shape[0] == 0 or img.shape[1] == 0:
            raise BundleError(f"{where}: image_emb must be a non-empty 2-D array, got shape {img.shape}.")
        if not np.issubdtype(img.dtype, np.floating):
            raise BundleError(f"{where}: image_emb must hold floats, got {img.dtype}.")
        n, d = img.shape
        for key in ("class_text_emb", "dict_text_emb"):
            arr = np.asarray(getattr(self, key))
            if arr.ndim != 2 or arr.shape[1] != d:
                raise BundleError(
                    f"{where}: {key} has shape {arr.shape} but image embeddings have dimension {d}."
                )
            if not np.issubdtype(arr.dtype, np.floating):
                raise BundleError(f"{where}: {key} must hold floats, got {arr.dtype}.")
        # A row's squared norm is finite exactly when all its entries are (squares are >= 0, so
        # an inf or NaN always shows), so one pass over the rows checks and normalises.
        checked = {}
        for key in EMBEDDING_KEYS:
            if key == "image_emb" and isinstance(self.image_emb, np.memmap):
                self.image_emb = _checked_mapped_rows(self.image_emb, where)
                continue
            arr = np.asarray(getattr(self, key))
            x32 = np.asarray(arr, dtype=np.float32)
            sq = squared_row_norms(x32)
            if not np.all(np.isfinite(sq)):
                raise BundleError(f"{where}: {key} contains NaN or infinite values.")
            checked[key] = (x32, sq, owned or not np.shares_memory(x32, arr))
        for key, (x32, sq, inplace) in checked.items():
            try:
                setattr(self, key, unit_rows(x32, sq=sq, inplace=inplace))
            except VectorError as exc:
                raise BundleError(
                    f"{where}: {key} row {exc.row} has zero length and cannot be normalised."
                ) from None

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
    def mapped(self) -> bool:
        """True when ``image_emb`` is read from the bundle file on demand (memory-mapped)."""
        return isinstance(self.image_emb, np.memmap)

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

    def image_name(self, i: int) -> str:
        """The image's id (a file path or dataset index), or ``image <row>`` when the bundle has none."""
        return self.image_id[int(i)] if self.image_id else f"image {int(i)}"

    def image_names(self, rows: Iterable[int]) -> list[str]:
        """:meth:`image_name` of each row."""
        return [self.image_name(i) for i in rows]

    def class_index(self) -> dict[str, int]:
        """Class name to index (the first class of a name, should two share one)."""
        out: dict[str, int] = {}
        for i, name in enumerate(self.class_names):
            out.setdefault(name, i)
        return out

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


#: Rows checked at a time when a memory-mapped ``image_emb`` is validated.
MAPPED_CHECK_ROWS = 65536
#: How far from 1 a stored row's norm may be for the mapped rows to be used as they are
#: (float16 rounding of a unit row moves its norm by up to ~5e-4).
UNIT_TOLERANCE = {np.dtype(np.float16): 2e-3, np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-5}


def _checked_mapped_rows(arr: np.memmap, where: str) -> np.ndarray:
    """Check a mapped ``image_emb`` block by block (finite, non-zero rows) without copying it.

    Rows already of unit length (what :func:`save_bundle` writes) are used as mapped; a file
    whose rows are not is normalised into memory instead (when that memory is available).
    """
    n = arr.shape[0]
    tol = UNIT_TOLERANCE.get(arr.dtype, 1e-5)
    unit = True
    for start in range(0, n, MAPPED_CHECK_ROWS):
        block = np.asarray(arr[start : start + MAPPED_CHECK_ROWS], dtype=np.float32)
        sq = squared_row_norms(block)
        if not np.all(np.isfinite(sq)):
            raise BundleError(f"{where}: image_emb contains NaN or infinite values.")
        zero = np.flatnonzero(sq <= 0)
        if zero.size:
            raise BundleError(
                f"{where}: image_emb row {start + int(zero[0])} has zero length and cannot be normalised."
            )
        unit = unit and bool(np.max(np.abs(np.sqrt(sq) - 1.0)) <= tol)
    if unit:
        return arr
    need = n * arr.shape[1] * 4
    avail = available_memory()
    if avail is not None and need > avail:
        raise BundleError(
            f"{where}: image_emb rows are not of unit length, and normalising them needs "
            f"{fmt_bytes(need)}, more than the {fmt_bytes(avail)} of memory available; "
            "re-save the bundle with bliss so that it can be memory-mapped."
        )
    out = np.empty((n, arr.shape[1]), dtype=np.float32)
    for start in range(0, n, MAPPED_CHECK_ROWS):
        out[start : start + MAPPED_CHECK_ROWS] = unit_rows(np.asarray(arr[start : start + MAPPED_CHECK_ROWS]))
    return out


def save_bundle(
    bundle: Bundle, path: str | os.PathLike, *, float16: bool = False, create_parents: bool = False
) -> Path:
    """Write ``bundle`` to ``path`` atomically (temporary file in the same folder, then rename).

    The members are stored uncompressed, as :func:`numpy.savez` does, so that a large bundle's
    ``image_emb`` can be memory-mapped when it is loaded. ``float16`` halves the image
    embeddings (the text embeddings stay float32).
    """
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
    with atomic_write(path, create_parents=create_parents) as fh:
        np.savez(fh, **arrays)
    return path


def load_bundle(
    path: str | os.PathLike | Any, *, max_mb: float | None = None, mmap: bool | None = None
) -> Bundle:
    """Read and validate a bundle; any problem raises :class:`BundleError` naming the file.

    ``path`` may be a path or a binary file object (an upload). The arrays' declared sizes are
    checked before anything is decompressed: against ``max_mb`` when given (the app passes
    ``BLISS_MAX_BUNDLE_MB`` for uploads), else against the memory available. Pickled objects
    are never loaded.

    ``mmap``: map ``image_emb`` from the file instead of reading it (paths only; a file object
    is always read). None (the default) maps it when it takes at least ``BLISS_MMAP_MB`` as
    stored. A mapped ``image_emb`` is read-only and keeps its stored dtype (float16 or
    float32); it is checked block by block, and if its rows are not of unit length (not
    written by :func:`save_bundle`) it is normalised into memory after all. A member stored
    compressed cannot be mapped and is read.
    """
    if isinstance(path, (str, os.PathLike)):
        p = Path(path)
        if not p.exists():
            raise BundleError(f"{p}: no such bundle file.")
        if p.is_dir():
            raise BundleError(f"{p}: is a folder, not a bundle file.")
        try:
            # Regular files only: a FIFO or device named *.npz must not hang or flood the reader.
            with open_regular(p) as fh:
                return _load(fh, str(p), max_mb, mmap)
        except OSError as exc:
            raise BundleError(f"{p}: cannot be read ({getattr(exc, 'strerror', None) or exc}).") from None
    return _load(path, str(getattr(path, "name", "uploaded bundle")), max_mb, False)


def _load(source: Any, where: str, max_mb: float | None, mmap: bool | None) -> Bundle:
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise BundleError(f"{where}: not an .npz bundle (the file is not a valid zip archive).") from None
    mapped: tuple[np.dtype, tuple[int, ...], int] | None = None
    with zf:
        decl = declared_sizes(zf, where)
        keys = set(decl)
        missing = [k for k in REQUIRED_KEYS if k not in keys]
        if missing:
            raise BundleError(f"{where}: missing required key(s) {', '.join(missing)}.")
        extra = sorted(keys - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
        if extra:
            raise BundleError(f"{where}: unexpected key(s) {', '.join(extra)}; is this a bliss bundle?")
        if mmap is None:
            shape, dtype = decl["image_emb"]
            stored = dtype.itemsize * int(np.prod(shape, dtype=np.float64)) if dtype.kind == "f" else 0
            mmap = stored >= settings.get("BLISS_MMAP_MB") * 1024**2
        if mmap:
            mapped = mapped_member(source, zf.getinfo("image_emb.npy"), where)
        need = bytes_needed({k: v for k, v in decl.items() if not (mapped and k == "image_emb")})
        if max_mb is not None:
            if need > max_mb * 1024**2:
                raise BundleError(
                    f"{where}: its arrays would take {fmt_bytes(need)}, above the {max_mb:g} MB "
                    "limit for bundles here (BLISS_MAX_BUNDLE_MB)."
                )
        else:
            avail = available_memory()
            if avail is not None and need > avail:
                raise BundleError(
                    f"{where}: its arrays would take {fmt_bytes(need)}, more than the "
                    f"{fmt_bytes(avail)} of memory available."
                )
    wanted = [
        k
        for k in list(REQUIRED_KEYS) + [k for k in OPTIONAL_KEYS if k in keys]
        if not (mapped and k == "image_emb")
    ]
    try:
        source.seek(0)
        with np.load(source, allow_pickle=False) as npz:
            data = {k: npz[k] for k in wanted}
        if mapped:
            dtype, shape, offset = mapped
            data["image_emb"] = np.memmap(source, dtype=dtype, mode="r", offset=offset, shape=shape)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise BundleError(f"{where}: holds pickled Python objects, which are never loaded.") from None
        raise BundleError(f"{where}: not a readable .npz bundle ({exc}).") from None
    except (OSError, EOFError, zipfile.BadZipFile, RuntimeError) as exc:
        raise BundleError(f"{where}: not a readable .npz bundle ({type(exc).__name__}: {exc}).") from None
    return _from_arrays(data, where)


def _from_arrays(data: dict[str, np.ndarray], where: str) -> Bundle:
    meta_raw = data["meta"]
    try:
        meta = json.loads(str(meta_raw.item() if meta_raw.shape == () else meta_raw))
    except (ValueError, TypeError):
        raise BundleError(f"{where}: meta is not valid JSON.") from None
    for key in ("class_names", "dict_names") + (("image_id",) if "image_id" in data else ()):
        if data[key].dtype.kind not in "US" or data[key].ndim != 1:
            raise BundleError(f"{where}: {key} must be a 1-D array of strings.")
    if data["image_is_train"].dtype != np.bool_:
        raise BundleError(
            f"{where}: image_is_train must be a bool array, got {data['image_is_train'].dtype}."
        )
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
            owned=True,
        )
    except BundleError as exc:
        raise BundleError(str(exc).replace("bundle:", f"{where}:", 1)) from None
