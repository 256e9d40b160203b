"""Image sources for ``bliss embed`` and the app.

Sources (``open_source(spec)``):

- ``cifar10`` / ``cifar100``: torchvision datasets, read from ``data_root`` (default
  ``$BLISS_DATA_ROOT`` or ``~/.cache/bliss-lab/datasets``), downloaded when online.
- ``tinyimagenet:PATH``: the standard ``tiny-imagenet-200`` folder (train/<wnid>/images,
  val/images + val/val_annotations.txt, words.txt for the class names); val is the test set.
- ``folder:PATH`` / ``zip:PATH``: one sub-folder per class, optionally under ``train/`` and
  ``test/`` (``val/`` counts as test), possibly inside one top folder (``cifar10/train/...``).
  Without a train/test split, images of each class are split deterministically: in sorted
  file-name order every fifth image (positions 4, 9, 14, ...) is a test image, the rest are
  training (normal reference) images, i.e. 80/20.

Nothing is ever extracted or written: archive members are read in memory. Only regular files
are opened (a FIFO, device or socket is recognised before it is opened and never blocks), and
hostile inputs (zip-slip names, symlinks leaving the folder, nested archives, zip bombs,
folders nested absurdly deep) are refused and reported by name with a reason.

``confine_to`` (the app passes ``BLISS_DATA_ROOT``) resolves every path inside one folder and
refuses any that leaves it, through ``..`` or a symlink.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import stat
import threading
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from PIL import Image

from .. import settings
from ..errors import DataError, ImageRejected
from ..files import NotRegularFile, file_kind, open_regular, read_regular
from .decode import ARCHIVE_EXTENSIONS, IMAGE_EXTENSIONS, decode_image, extension

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

MAX_COMPRESSION_RATIO = 200.0
MAX_FOLDER_DEPTH = 32
SPLIT_TRAIN = ("train",)
SPLIT_TEST = ("test", "val")
#: ``readable``: folder names with underscores as spaces (``aquarium fish``, the default);
#: ``official``: the names as the dataset writes them (``aquarium_fish``, as the published prompts).
CLASS_NAME_STYLES = ("readable", "official")


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

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ------------------------------------------------------------------------------------------
# readers: one for files below a folder, one for members of a zip
# ------------------------------------------------------------------------------------------
class FolderReader:
    """Reads files below one folder: regular files only, never outside it."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.real = os.path.realpath(self.root)

    def inside(self, path: str | os.PathLike) -> bool:
        real = os.path.realpath(path)
        return real == self.real or real.startswith(self.real.rstrip(os.sep) + os.sep)

    def path(self, rel: str) -> str:
        return os.path.join(self.root, *PurePosixPath(rel).parts)

    def read(self, rel: str) -> bytes:
        path = self.path(rel)
        if not self.inside(path):
            raise ImageRejected(rel, "path leaves the data folder")
        limit = settings.get("BLISS_MAX_FILE_BYTES")
        try:
            data = read_regular(path, limit)
        except NotRegularFile as exc:
            raise ImageRejected(rel, f"not a regular file ({exc.kind})") from None
        except OSError as exc:
            raise ImageRejected(rel, f"cannot read file ({exc.strerror or exc})") from None
        if len(data) > limit:
            raise ImageRejected(rel, f"file is larger than {limit // 1024**2} MiB")
        return data


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


# ------------------------------------------------------------------------------------------
# listing helpers
# ------------------------------------------------------------------------------------------
def _display_name(folder: str, style: str = "readable") -> str:
    return folder if style == "official" else folder.replace("_", " ").strip()


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


def _build_items(
    entries: list[tuple[str, str, str]],
    read: Callable[[str], bytes],
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


def _check_limit(per_class_limit: int | None) -> int | None:
    if per_class_limit is None:
        return None
    try:
        n = int(per_class_limit)
    except (TypeError, ValueError, OverflowError):
        n = 0
    if n <= 0 or n != per_class_limit:
        raise DataError(f"per-class limit must be a positive whole number, got {per_class_limit}.")
    return n


def _split_rule(entries: list[tuple[str, str, str]]) -> str:
    if any(s for _, s, _ in entries):
        return "train/test folders"
    return "no train/test folders: every 5th image per class (sorted names) is test, the rest train"


def _report_empty_dirs(
    all_dirs: Iterable[str], with_images: set[str], skipped: list[tuple[str, str]]
) -> None:
    ancestors: set[str] = set()
    for d in with_images:
        p = PurePosixPath(d)
        ancestors.add(str(p))
        ancestors.update(str(a) for a in p.parents)
    for d in sorted(set(all_dirs)):
        if d not in ancestors and not _hidden(PurePosixPath(d).parts):
            skipped.append((d + "/", "empty class folder (no images)"))


def _source(
    spec: str,
    folders: list[str],
    items: list[ImageItem],
    skipped: list[tuple[str, str]],
    entries: list[tuple[str, str, str]],
    style: str,
    closers: list | None = None,
) -> ImageSource:
    return ImageSource(
        spec=spec,
        class_names=[_display_name(f, style) for f in folders],
        items=items,
        skipped=skipped,
        meta={"class_folders": folders, "split_rule": _split_rule(entries), "class_names": style},
        _closers=closers or [],
    )


# -- folder -----------------------------------------------------------------------------
def _open_folder(root: Path, per_class_limit: int | None, style: str) -> ImageSource:
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
            entries = sorted(os.scandir(d), key=lambda e: e.name, reverse=True)
        except OSError as exc:
            skipped.append((rel or ".", f"cannot list folder ({exc.strerror})"))
            continue
        for e in entries:
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
    entries, bad = _classify_paths(images)
    skipped.extend(bad)
    _report_empty_dirs(all_dirs, dirs_with_images, skipped)
    folders, items = _build_items(entries, reader.read, per_class_limit)
    return _source(f"folder:{root}", folders, items, skipped, entries, style)


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


def _open_zip(
    fh: IO[bytes],
    label: str,
    per_class_limit: int | None,
    style: str,
    max_images: int | None = None,
    max_classes: int | None = None,
) -> ImageSource:
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
        reason = _unsafe_member(name)
        if reason:
            skipped.append((name, reason))
            continue
        parts = PurePosixPath(name).parts
        if _hidden(parts):
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
        for i in range(1, len(parts)):
            dirs.append("/".join(parts[:i]))
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
    entries, bad = _classify_paths(images)
    skipped.extend(bad)
    n_classes = len({c for _, _, c in entries})
    if max_classes is not None and n_classes > max_classes:
        raise DataError(
            f"{label}: {n_classes:,} class folders, more than the {max_classes:,} allowed here "
            "(BLISS_MAX_UPLOAD_CLASSES)."
        )
    _report_empty_dirs(dirs, dirs_with_images, skipped)
    folders, items = _build_items(entries, ZipReader(zf).read, per_class_limit)
    if max_images is not None and len(items) > max_images:
        raise DataError(
            f"{label}: {len(items):,} images to embed, more than the {max_images:,} allowed here "
            "(BLISS_MAX_UPLOAD_IMAGES); lower the images per class or upload fewer."
        )
    return _source(f"zip:{label}", folders, items, skipped, entries, style, [zf.close])


# -- tiny imagenet --------------------------------------------------------------------------
def _open_tinyimagenet(root: Path, per_class_limit: int | None, style: str) -> ImageSource:
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
    index = {w: i for i, w in enumerate(wnids)}

    def text(rel: str) -> str:
        try:
            return reader.read(rel).decode("utf-8", errors="replace")
        except ImageRejected as exc:
            raise DataError(f"{root / rel}: {exc.reason}.") from None

    words: dict[str, str] = {}
    for ln in text("words.txt").splitlines():
        if "\t" in ln:
            w, names = ln.split("\t", 1)
            words[w.strip()] = names.split(",")[0].strip()
    missing = [w for w in wnids if w not in words]
    if missing:
        raise DataError(
            f"{root / 'words.txt'}: has no name for class {missing[0]} (and {len(missing) - 1} more)."
        )
    skipped: list[tuple[str, str]] = []
    items: list[ImageItem] = []
    for w in wnids:
        img_dir = train_dir / w / "images"
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
                ImageItem(
                    label=index[w], is_train=True, image_id=rel, _read=functools.partial(reader.read, rel)
                )
            )
    per_class: dict[int, int] = {}
    for ln in sorted(text("val/val_annotations.txt").splitlines()):
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
        items.append(
            ImageItem(label=lab, is_train=False, image_id=rel, _read=functools.partial(reader.read, rel))
        )
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


# -- torchvision ----------------------------------------------------------------------------
def default_data_root() -> Path:
    """Where torchvision datasets live: ``$BLISS_DATA_ROOT`` or ``~/.cache/bliss-lab/datasets``."""
    env = settings.get("BLISS_DATA_ROOT")
    return Path(env).expanduser() if env else settings.home_cache() / "datasets"


def app_data_root() -> Path | None:
    """The folder the app may read (``BLISS_DATA_ROOT``, resolved), or None: then it reads none."""
    env = settings.get("BLISS_DATA_ROOT")
    if not env:
        return None
    root = Path(env).expanduser()
    return root.resolve() if root.is_dir() else None


def _open_torchvision(name: str, data_root: Path, per_class_limit: int | None, style: str) -> ImageSource:
    from torchvision import datasets  # lazy: torchvision imports torch

    from .network import reachable

    cls = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
    splits = {}
    for train in (True, False):
        try:
            splits[train] = cls(str(data_root), train=train, download=False)
        except RuntimeError:
            if not reachable("https://www.cs.toronto.edu"):
                raise DataError(
                    f"{name} is not in {data_root} and this machine is offline; run once online, copy the torchvision "
                    f"'{cls.base_folder}' folder there, or pass --data-root DIR."
                ) from None
            try:
                data_root.mkdir(parents=True, exist_ok=True)
                splits[train] = cls(str(data_root), train=train, download=True)
            except Exception as exc:
                raise DataError(f"downloading {name} to {data_root} failed ({exc}).") from None
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
        class_names=[_display_name(c, style) for c in ds0.classes],
        items=items,
        meta={
            "class_folders": list(ds0.classes),
            "split_rule": "torchvision train = reference, test = test",
            "class_names": style,
        },
    )


# ------------------------------------------------------------------------------------------
# the entry points
# ------------------------------------------------------------------------------------------
def _confined(arg: str, confine_to: Path | None, kind: str) -> Path:
    """``arg`` as a path; with ``confine_to``, relative to it and refused when it leaves it."""
    path = Path(arg).expanduser()
    if confine_to is None:
        return path
    base = FolderReader(confine_to)
    if not base.inside(Path(base.real) / path):
        raise DataError(
            f"{kind}:{arg}: outside the data folder this server allows (BLISS_DATA_ROOT); give a path "
            "inside it."
        )
    return Path(os.path.realpath(Path(base.real) / path))


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
    limit = _check_limit(per_class_limit)
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
        return _open_torchvision(kind, root, limit, class_names)
    if sep and kind in ("folder", "zip", "tinyimagenet"):
        if not arg:
            raise DataError(f"{kind}: needs a path, e.g. {kind}:/data/my_images.")
        path = _confined(arg, confine, kind)
        if kind == "folder":
            return _open_folder(path, limit, class_names)
        if kind == "zip":
            return _open_zip_path(path, arg, limit, class_names)
        return _open_tinyimagenet(path, limit, class_names)
    raise DataError(
        f"unknown data source '{spec}'; use cifar10, cifar100, tinyimagenet:PATH, folder:PATH or zip:PATH."
    )


def _open_zip_path(path: Path, label: str, per_class_limit: int | None, style: str) -> ImageSource:
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
        source = _open_zip(fh, label, per_class_limit, style)
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
    return _open_zip(
        io.BytesIO(data), name, _check_limit(per_class_limit), "readable", max_images, max_classes
    )
