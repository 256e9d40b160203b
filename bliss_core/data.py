"""Image sources for ``bliss embed`` and safe image decoding.

Sources (``open_source(spec)``):

- ``cifar10`` / ``cifar100``: torchvision datasets, read from ``data_root`` (default
  ``$BLISS_DATA_ROOT`` or ``~/.cache/bliss-lab/datasets``), downloaded when online.
- ``tinyimagenet:PATH``: the standard ``tiny-imagenet-200`` folder (train/<wnid>/images,
  val/images + val/val_annotations.txt); the val set is the test set.
- ``folder:PATH`` / ``zip:PATH``: one sub-folder per class, optionally under ``train/`` and
  ``test/`` (``val/`` counts as test), possibly inside one top folder (``cifar10/train/...``).
  Without a train/test split, images of each class are split deterministically: in sorted
  file-name order every fifth image (positions 4, 9, 14, ...) is a test image, the rest are
  training (normal reference) images, i.e. 80/20.

Nothing is ever extracted or written: archive members are read in memory. Hostile inputs
(zip-slip names, symlinks leaving the folder, nested archives, zip bombs, decompression
bombs, truncated or fake images) are refused and reported by name with a reason.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import stat
import struct
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Sequence

from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "DataError", "ImageRejected", "ImageItem", "ImageSource", "decode_image", "open_source",
    "images_from_uploads", "IMAGE_EXTENSIONS", "paths_allowed",
]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"})
ARCHIVE_EXTENSIONS = frozenset({".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".npz"})
#: Decoders PIL may use; exotic ones (EPS via ghostscript, etc.) are never tried.
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "MPO")
MAX_IMAGE_PIXELS = int(os.environ.get("BLISS_MAX_IMAGE_PIXELS", 40_000_000))
MAX_FILE_BYTES = int(os.environ.get("BLISS_MAX_FILE_BYTES", 64 * 1024**2))
MAX_ZIP_TOTAL_BYTES = int(os.environ.get("BLISS_MAX_ZIP_TOTAL_BYTES", 32 * 1024**3))
MAX_COMPRESSION_RATIO = 200.0
SPLIT_TRAIN = ("train",)
SPLIT_TEST = ("test", "val")


class DataError(ValueError):
    """A data source cannot be opened or is unusable. The message is one sentence."""


class ImageRejected(ValueError):
    """One image was refused; ``name`` says which, ``reason`` why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


# ------------------------------------------------------------------------------------------
# decoding
# ------------------------------------------------------------------------------------------
def _to_rgb(im: Image.Image) -> Image.Image:
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        import numpy as np

        arr = np.asarray(im)
        if mode.startswith("I;16"):
            arr8 = (arr.astype(np.float32) / 257.0).round()
        elif mode == "I":
            top = 65535.0 if arr.max(initial=0) > 255 else 255.0
            arr8 = arr.astype(np.float32) * (255.0 / top)
        else:
            top = 1.0 if float(arr.max(initial=0)) <= 1.0 else 255.0
            arr8 = arr.astype(np.float32) * (255.0 / top)
        arr8 = np.clip(arr8, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8).convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode in ("P", "L", "RGB") and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


_FORMATS: tuple[str, ...] | None = None


def _formats() -> tuple[str, ...]:
    global _FORMATS
    if _FORMATS is None:
        Image.init()
        _FORMATS = tuple(f for f in ALLOWED_FORMATS if f in Image.OPEN)
    return _FORMATS


def decode_image(data: bytes, name: str, max_pixels: int | None = None) -> Image.Image:
    """Decode image bytes to an RGB PIL image, or raise :class:`ImageRejected` naming ``name``.

    EXIF orientation is applied; CMYK, 16-bit, palette, grayscale and transparent images are
    converted to RGB (transparency composited on white); animations give their first frame.
    Empty, truncated, non-image and over-large (decompression bomb) inputs are refused.
    """
    limit = MAX_IMAGE_PIXELS if max_pixels is None else int(max_pixels)
    if not data:
        raise ImageRejected(name, "empty file")
    if len(data) > MAX_FILE_BYTES:
        raise ImageRejected(name, f"file is larger than {MAX_FILE_BYTES // 1024**2} MiB")
    try:
        im = Image.open(io.BytesIO(data), formats=_formats())
        w, h = im.size
        if w <= 0 or h <= 0:
            raise ImageRejected(name, "image has zero width or height")
        if w * h > limit:
            raise ImageRejected(name, f"image is {w}x{h} pixels, above the {limit:,}-pixel limit (decompression bomb?)")
        if getattr(im, "is_animated", False):
            im.seek(0)
        im.load()
        im = ImageOps.exif_transpose(im) or im
        rgb = _to_rgb(im)
        rgb.load()
        return rgb
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(name, f"decompression bomb refused ({exc})") from None
    except UnidentifiedImageError:
        raise ImageRejected(name, "not a recognised image (JPEG, PNG, GIF, BMP, TIFF, WebP, PPM)") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError, struct.error) as exc:
        msg = str(exc) or type(exc).__name__
        if "truncated" in msg.lower():
            raise ImageRejected(name, "truncated image file") from None
        raise ImageRejected(name, f"cannot decode image ({msg})") from None


# ------------------------------------------------------------------------------------------
# items and sources
# ------------------------------------------------------------------------------------------
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
            try:
                fn()
            except Exception:
                pass
        self._closers.clear()

    def __enter__(self) -> "ImageSource":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def paths_allowed(allow_paths: bool | None = None) -> bool:
    """Whether folder:/zip:/tinyimagenet: sources may read server paths (env BLISS_ALLOW_SERVER_PATHS)."""
    if allow_paths is not None:
        return bool(allow_paths)
    return os.environ.get("BLISS_ALLOW_SERVER_PATHS", "1").strip().lower() not in ("0", "false", "no", "off")


def _display_name(folder: str) -> str:
    return folder.replace("_", " ").strip()


def _ext(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def _hidden(parts: Sequence[str]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _classify_paths(rel_paths: list[str]) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
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
    out: list[tuple[str, str, str]] = []
    bad: list[tuple[str, str]] = []
    has_split = any(len(v) > prefix + 2 and v[prefix].lower() in SPLIT_TRAIN + SPLIT_TEST for v in parts.values())
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


def _build_items(
    entries: list[tuple[str, str, str]],
    reader: Callable[[str], Callable[[], bytes]],
    per_class_limit: int | None,
) -> tuple[list[str], list[ImageItem]]:
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
            chosen = [(p, True) for p in train[:per_class_limit]] + [(p, False) for p in test[:per_class_limit]]
        else:
            chosen = [(p, split == "train") for p in paths[:per_class_limit]]
        for p, is_train in chosen:
            items.append(ImageItem(label=index[c], is_train=is_train, image_id=p, _read=reader(p)))
    items.sort(key=lambda it: (not it.is_train, it.label, it.image_id))
    return folders, items


def _check_limit(per_class_limit: int | None) -> int | None:
    if per_class_limit is None:
        return None
    n = int(per_class_limit)
    if n <= 0:
        raise DataError(f"per-class limit must be a positive number, got {per_class_limit}.")
    return n


# -- folder -----------------------------------------------------------------------------
def _open_folder(root_arg: str, per_class_limit: int | None) -> ImageSource:
    root = Path(root_arg).expanduser()
    if not root.exists():
        raise DataError(f"{root}: no such folder.")
    if not root.is_dir():
        raise DataError(f"{root}: is not a folder (use zip:PATH for archives).")
    root_real = os.path.realpath(root)
    images: list[str] = []
    skipped: list[tuple[str, str]] = []
    dirs_with_images: set[str] = set()
    all_dirs: list[str] = []

    def inside(path: str) -> bool:
        real = os.path.realpath(path)
        return real == root_real or real.startswith(root_real + os.sep)

    def walk(d: str, rel: str) -> None:
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as exc:
            skipped.append((rel or ".", f"cannot list folder ({exc.strerror})"))
            return
        for e in entries:
            r = f"{rel}/{e.name}" if rel else e.name
            if e.name.startswith(".") or e.name == "__MACOSX":
                continue
            if e.is_symlink():
                if not inside(e.path):
                    skipped.append((r, "symlink pointing outside the folder"))
                    continue
                if e.is_dir():
                    skipped.append((r, "symlinked folder not followed"))
                    continue
            if e.is_dir(follow_symlinks=False):
                all_dirs.append(r)
                walk(e.path, r)
            elif e.is_file():
                ext = _ext(e.name)
                if ext in ARCHIVE_EXTENSIONS:
                    skipped.append((r, "nested archive skipped"))
                elif ext in IMAGE_EXTENSIONS:
                    images.append(r)
                    dirs_with_images.add(str(PurePosixPath(r).parent))
                else:
                    skipped.append((r, "not an image file"))
            else:
                skipped.append((r, "not a regular file"))

    walk(str(root), "")
    if not images:
        raise DataError(f"{root}: no image files found (expected one sub-folder of images per class).")
    entries, bad = _classify_paths(images)
    skipped.extend(bad)
    _report_empty_dirs(all_dirs, dirs_with_images, skipped)

    def reader(rel: str) -> Callable[[], bytes]:
        def read() -> bytes:
            path = os.path.join(root, *PurePosixPath(rel).parts)
            if not inside(path):
                raise ImageRejected(rel, "path leaves the data folder")
            try:
                size = os.stat(path).st_size
                if size > MAX_FILE_BYTES:
                    raise ImageRejected(rel, f"file is larger than {MAX_FILE_BYTES // 1024**2} MiB")
                with open(path, "rb") as fh:
                    return fh.read(MAX_FILE_BYTES + 1)
            except OSError as exc:
                raise ImageRejected(rel, f"cannot read file ({exc.strerror or exc})") from None

        return read

    folders, items = _build_items(entries, reader, per_class_limit)
    return ImageSource(
        spec=f"folder:{root}", class_names=[_display_name(f) for f in folders], items=items, skipped=skipped,
        meta={"class_folders": folders, "split_rule": _split_rule(entries)},
    )


def _split_rule(entries: list[tuple[str, str, str]]) -> str:
    if any(s for _, s, _ in entries):
        return "train/test folders"
    return "no train/test folders: every 5th image per class (sorted names) is test, the rest train"


def _report_empty_dirs(all_dirs: Iterable[str], with_images: set[str], skipped: list[tuple[str, str]]) -> None:
    ancestors: set[str] = set()
    for d in with_images:
        p = PurePosixPath(d)
        ancestors.add(str(p))
        ancestors.update(str(a) for a in p.parents)
    for d in sorted(set(all_dirs)):
        if d not in ancestors and not _hidden(PurePosixPath(d).parts):
            skipped.append((d + "/", "empty class folder (no images)"))


# -- zip ----------------------------------------------------------------------------------
def _unsafe_member(name: str) -> str | None:
    if "\\" in name:
        name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path in archive refused"
    if any(p == ".." for p in name.split("/")):
        return "path with '..' in archive refused (zip-slip)"
    if "\x00" in name:
        return "member name contains a NUL byte"
    return None


def _open_zip(path_or_file: Any, label: str, per_class_limit: int | None) -> ImageSource:
    try:
        zf = zipfile.ZipFile(path_or_file)
    except FileNotFoundError:
        raise DataError(f"{label}: no such zip file.") from None
    except IsADirectoryError:
        raise DataError(f"{label}: is a folder (use folder:PATH).") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{label}: not a readable zip archive ({exc}).") from None
    lock = threading.Lock()
    images: list[str] = []
    skipped: list[tuple[str, str]] = []
    dirs: list[str] = []
    dirs_with_images: set[str] = set()
    sizes: dict[str, int] = {}
    total = 0
    for info in zf.infolist():
        name = info.filename
        reason = _unsafe_member(name)
        if reason:
            skipped.append((name, reason))
            continue
        parts = PurePosixPath(name).parts
        if _hidden(parts):
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            skipped.append((name, "symlink in archive skipped"))
            continue
        if info.is_dir():
            dirs.append(name.rstrip("/"))
            continue
        for i in range(1, len(parts)):
            dirs.append("/".join(parts[:i]))
        ext = _ext(name)
        if ext in ARCHIVE_EXTENSIONS:
            skipped.append((name, "nested archive skipped"))
            continue
        if ext not in IMAGE_EXTENSIONS:
            skipped.append((name, "not an image file"))
            continue
        if info.file_size > MAX_FILE_BYTES:
            skipped.append((name, f"member is larger than {MAX_FILE_BYTES // 1024**2} MiB (zip bomb?)"))
            continue
        if info.file_size > 1024 * 1024 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            skipped.append((name, f"compression ratio above {MAX_COMPRESSION_RATIO:.0f}:1 refused (zip bomb?)"))
            continue
        total += info.file_size
        if total > MAX_ZIP_TOTAL_BYTES:
            zf.close()
            raise DataError(
                f"{label}: images would expand to more than {MAX_ZIP_TOTAL_BYTES / 1024**3:.0f} GiB; refused as a possible zip bomb."
            )
        images.append(name)
        sizes[name] = info.file_size
        dirs_with_images.add(str(PurePosixPath(name).parent))
    if not images:
        zf.close()
        raise DataError(f"{label}: no image files found in the archive (expected one folder of images per class).")
    entries, bad = _classify_paths(images)
    skipped.extend(bad)
    _report_empty_dirs(dirs, dirs_with_images, skipped)

    def reader(member: str) -> Callable[[], bytes]:
        def read() -> bytes:
            try:
                with lock:
                    with zf.open(member) as fh:
                        data = fh.read(MAX_FILE_BYTES + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError) as exc:
                raise ImageRejected(member, f"cannot read archive member ({exc})") from None
            if len(data) > MAX_FILE_BYTES:
                raise ImageRejected(member, "member expands beyond its declared size (zip bomb?)")
            return data

        return read

    folders, items = _build_items(entries, reader, per_class_limit)
    return ImageSource(
        spec=f"zip:{label}", class_names=[_display_name(f) for f in folders], items=items, skipped=skipped,
        meta={"class_folders": folders, "split_rule": _split_rule(entries)}, _closers=[zf.close],
    )


# -- tiny imagenet --------------------------------------------------------------------------
def _open_tinyimagenet(root_arg: str, per_class_limit: int | None) -> ImageSource:
    root = Path(root_arg).expanduser()
    if (root / "tiny-imagenet-200").is_dir() and not (root / "train").is_dir():
        root = root / "tiny-imagenet-200"
    train_dir, val_dir = root / "train", root / "val"
    ann = val_dir / "val_annotations.txt"
    if not train_dir.is_dir() or not ann.is_file():
        raise DataError(f"{root}: not a tiny-imagenet-200 folder (needs train/<wnid>/images and val/val_annotations.txt).")
    wnids = sorted(d.name for d in train_dir.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not wnids:
        raise DataError(f"{train_dir}: no class folders found.")
    index = {w: i for i, w in enumerate(wnids)}
    words: dict[str, str] = {}
    if (root / "words.txt").is_file():
        for ln in (root / "words.txt").read_text(encoding="utf-8", errors="replace").splitlines():
            if "\t" in ln:
                w, names = ln.split("\t", 1)
                words[w.strip()] = names.split(",")[0].strip()
    skipped: list[tuple[str, str]] = []
    root_real = os.path.realpath(root)

    def reader(rel: str) -> Callable[[], bytes]:
        def read() -> bytes:
            path = os.path.join(root, rel)
            real = os.path.realpath(path)
            if not real.startswith(root_real + os.sep):
                raise ImageRejected(rel, "path leaves the data folder")
            try:
                with open(path, "rb") as fh:
                    return fh.read(MAX_FILE_BYTES + 1)
            except OSError as exc:
                raise ImageRejected(rel, f"cannot read file ({exc.strerror or exc})") from None

        return read

    items: list[ImageItem] = []
    for w in wnids:
        img_dir = train_dir / w / "images"
        names = sorted(n for n in os.listdir(img_dir) if _ext(n) in IMAGE_EXTENSIONS) if img_dir.is_dir() else []
        if not names:
            skipped.append((f"train/{w}/", "empty class folder (no images)"))
        for n in names[:per_class_limit]:
            rel = f"train/{w}/images/{n}"
            items.append(ImageItem(label=index[w], is_train=True, image_id=rel, _read=reader(rel)))
    per_class: dict[int, int] = {}
    for ln in sorted(ann.read_text(encoding="utf-8", errors="replace").splitlines()):
        fields = ln.split("\t")
        if len(fields) < 2:
            continue
        fname, w = fields[0].strip(), fields[1].strip()
        if w not in index:
            skipped.append((f"val/images/{fname}", f"annotation names unknown class {w}"))
            continue
        if _unsafe_member(fname) or "/" in fname:
            skipped.append((fname, "unsafe file name in val_annotations.txt"))
            continue
        lab = index[w]
        if per_class_limit is not None and per_class.get(lab, 0) >= per_class_limit:
            continue
        per_class[lab] = per_class.get(lab, 0) + 1
        rel = f"val/images/{fname}"
        items.append(ImageItem(label=lab, is_train=False, image_id=rel, _read=reader(rel)))
    items.sort(key=lambda it: (not it.is_train, it.label, it.image_id))
    return ImageSource(
        spec=f"tinyimagenet:{root}", class_names=[words.get(w, w) for w in wnids], items=items, skipped=skipped,
        meta={"class_folders": wnids, "split_rule": "train folder = reference, val = test"},
    )


# -- torchvision ----------------------------------------------------------------------------
def default_data_root() -> Path:
    """Where torchvision datasets live: ``$BLISS_DATA_ROOT`` or ``~/.cache/bliss-lab/datasets``."""
    env = os.environ.get("BLISS_DATA_ROOT")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "bliss-lab" / "datasets"


def _online(host: str, port: int = 443, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _open_torchvision(name: str, data_root: str | os.PathLike | None, per_class_limit: int | None) -> ImageSource:
    from torchvision import datasets  # lazy: torchvision imports torch

    cls = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
    root = Path(data_root).expanduser() if data_root else default_data_root()
    splits = {}
    for train in (True, False):
        try:
            splits[train] = cls(str(root), train=train, download=False)
        except RuntimeError:
            if not _online("www.cs.toronto.edu"):
                raise DataError(
                    f"{name} is not in {root} and this machine is offline; run once online, copy the torchvision "
                    f"'{cls.base_folder}' folder there, or pass --data-root DIR."
                ) from None
            try:
                root.mkdir(parents=True, exist_ok=True)
                splits[train] = cls(str(root), train=train, download=True)
            except Exception as exc:  # network errors come in many types
                raise DataError(f"downloading {name} to {root} failed ({exc}).") from None
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

            def key(ds=ds, i=i) -> str:
                return hashlib.sha256(b"rgb32x32:" + ds.data[i].tobytes()).hexdigest()

            item = ImageItem(label=lab, is_train=train, image_id=f"{'train' if train else 'test'}/{i}", _pil=pil)
            item._key = key()
            items.append(item)
    return ImageSource(
        spec=name, class_names=[_display_name(c) for c in ds0.classes], items=items,
        meta={"class_folders": list(ds0.classes), "split_rule": "torchvision train = reference, test = test"},
    )


def open_source(
    spec: str,
    data_root: str | os.PathLike | None = None,
    per_class_limit: int | None = None,
    allow_paths: bool | None = None,
) -> ImageSource:
    """Open a data source named by ``spec`` (see the module docstring); raise :class:`DataError`.

    ``allow_paths=False`` (or env ``BLISS_ALLOW_SERVER_PATHS=0`` when ``None``) refuses sources
    that read server paths (folder:, zip:, tinyimagenet:), for shared deployments.
    """
    spec = str(spec).strip()
    limit = _check_limit(per_class_limit)
    kind, sep, arg = spec.partition(":")
    kind = kind.lower()
    if not sep and kind in ("cifar10", "cifar100"):
        return _open_torchvision(kind, data_root, limit)
    if sep and kind in ("folder", "zip", "tinyimagenet"):
        if not paths_allowed(allow_paths):
            raise DataError(f"{kind}: sources read server paths and are disabled here (BLISS_ALLOW_SERVER_PATHS=0); upload images instead.")
        if not arg:
            raise DataError(f"{kind}: needs a path, e.g. {kind}:/data/my_images.")
        if kind == "folder":
            return _open_folder(arg, limit)
        if kind == "zip":
            return _open_zip(str(Path(arg).expanduser()), arg, limit)
        return _open_tinyimagenet(arg, limit)
    raise DataError(
        f"unknown data source '{spec}'; use cifar10, cifar100, tinyimagenet:PATH, folder:PATH or zip:PATH."
    )


def open_zip_bytes(data: bytes, name: str = "upload.zip", per_class_limit: int | None = None) -> ImageSource:
    """Open an uploaded zip (class folders, optional train/test) held in memory."""
    return _open_zip(io.BytesIO(data), name, _check_limit(per_class_limit))


def images_from_uploads(
    uploads: Iterable[tuple[str, bytes]], max_pixels: int | None = None
) -> tuple[list[tuple[str, Image.Image]], list[tuple[str, str]]]:
    """Decode uploaded ``(name, bytes)`` pairs; return (decoded images, [(name, reason)] refused)."""
    good: list[tuple[str, Image.Image]] = []
    bad: list[tuple[str, str]] = []
    for name, data in uploads:
        name = PurePosixPath(str(name).replace("\\", "/")).name or "upload"
        if _ext(name) in ARCHIVE_EXTENSIONS:
            bad.append((name, "archives are not accepted here; upload image files"))
            continue
        try:
            good.append((name, decode_image(data, name, max_pixels=max_pixels)))
        except ImageRejected as exc:
            bad.append((exc.name, exc.reason))
    return good, bad
