"""Path confinement: files are read below one folder only, never through ``..`` or a symlink
that leaves it, and regular files only (a FIFO or device never blocks the reader)."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from ... import settings
from ...errors import DataError, ImageRejected
from ...files import NotRegularFile, read_regular

__all__ = ["FolderReader", "app_data_root", "confined"]


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


def app_data_root() -> Path | None:
    """The folder the app may read (``BLISS_DATA_ROOT``, resolved), or None: then it reads none."""
    env = settings.get("BLISS_DATA_ROOT")
    if not env:
        return None
    root = Path(env).expanduser()
    return root.resolve() if root.is_dir() else None


def confined(arg: str, confine_to: Path | None, kind: str) -> Path:
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
