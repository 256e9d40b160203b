"""Files: atomic writes to outputs that are safe to replace, and reads of regular files only.

Writes go to a temporary file in the same folder, are fsynced and renamed over the target, so
readers see the old file or the complete new one, never half of it, even when the writer is
killed. An existing target that is not a regular file (a FIFO, a device, a symlink, a folder)
is refused rather than swapped out, and a missing folder is named rather than created.

Reads open regular files only: a FIFO, device or socket is recognised (``stat`` before opening,
``fstat`` after a non-blocking open) and refused without ever blocking on it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import OutputError

__all__ = ["NotRegularFile", "atomic_write", "check_output", "file_kind", "open_regular", "read_regular"]

_UMASK = os.umask(0)
os.umask(_UMASK)


def file_kind(mode: int) -> str:
    """A word for what a ``st_mode`` is: file, folder, symlink, FIFO, device, socket."""
    if stat.S_ISREG(mode):
        return "regular file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def check_output(path: str | os.PathLike, *, create_parents: bool = False) -> Path:
    """Check that ``path`` may be written atomically; raise :class:`OutputError` naming it.

    The target must be absent or a regular file (not a symlink, FIFO, device or folder); its
    folder must exist unless ``create_parents``.
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as exc:
        raise OutputError(f"{path}: cannot be checked ({exc.strerror or exc}).") from None
    else:
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(
                f"{path}: exists and is a {file_kind(st.st_mode)}, not a regular file; "
                "choose another output path."
            )
    parent = path.parent if str(path.parent) else Path(".")
    if create_parents:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"{parent}: the output folder cannot be created ({exc.strerror or exc})."
            ) from None
    elif not parent.is_dir():
        if parent.exists():
            raise OutputError(f"{path}: {parent} is not a folder.")
        missing = parent
        while not missing.parent.exists() and missing.parent != missing:
            missing = missing.parent
        if missing.parent.exists() and not missing.parent.is_dir():
            raise OutputError(f"{path}: {missing.parent} is not a folder.")
        raise OutputError(f"{path}: the folder {missing} does not exist; create it first.")
    return path


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike,
    mode: str = "wb",
    encoding: str | None = None,
    newline: str | None = None,
    *,
    create_parents: bool = False,
    file_mode: int | None = None,
) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one rename.

    The result gets ordinary permissions (0666 less the umask) unless ``file_mode`` is given.
    Errors name ``path``, never the temporary file.
    """
    path = check_output(path, create_parents=create_parents)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc}).") from None
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, (0o666 & ~_UMASK) if file_mode is None else file_mode)
        check_output(path)  # something may have been planted there meanwhile
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc}).") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class NotRegularFile(OSError):
    """A path that is not a regular file (FIFO, device, socket, folder); ``kind`` says which."""

    def __init__(self, path: str | os.PathLike, kind: str) -> None:
        super().__init__(f"{path}: is a {kind}, not a regular file")
        self.kind = kind


def open_regular(path: str | os.PathLike) -> IO[bytes]:
    """Open ``path`` for binary reading when it is a regular file; never blocks.

    ``stat`` decides before opening; the open is non-blocking and ``fstat`` confirms the file
    that was opened (it may have been swapped in between). Returns a file object (use it in a
    ``with``); raises :class:`NotRegularFile` or the ``OSError`` of the failed open.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(path, file_kind(st.st_mode))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(path, file_kind(st.st_mode))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file (at most ``max_bytes + 1`` when given, so callers can tell
    that it is too large without reading all of it)."""
    with open_regular(path) as fh:
        return fh.read() if max_bytes is None else fh.read(max_bytes + 1)
