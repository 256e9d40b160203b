"""The ``.npz`` container of a bundle, read without trusting it: ``.npy`` headers first, then
memory-mapping.

Before anything is decompressed, :func:`declared_sizes` reads every member's ``.npy`` header so
that the bytes the arrays declare can be added up: a small file that claims a huge array (a
"bundle bomb") is refused in one sentence instead of exhausting memory.

``np.savez`` stores members uncompressed, so the bytes of an array lie contiguous in the file,
after the member's zip local header and its ``.npy`` header; :func:`mapped_member` finds them
there so that they can be mapped (read-only) instead of read. What the arrays mean is
:mod:`.bundle`'s business.
"""

from __future__ import annotations

import os
import struct
import zipfile
from typing import Any

import numpy as np

from ..errors import BundleError

__all__ = ["available_memory", "bytes_needed", "declared_sizes", "fmt_bytes", "mapped_member"]


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return None


def npy_header(fh: Any) -> tuple[tuple[int, int], tuple[tuple[int, ...], bool, np.dtype] | None]:
    """``(version, (shape, fortran_order, dtype))`` of the ``.npy`` data at ``fh``'s position,
    the header None for a format version other than 1.0 or 2.0 (bundles use no other)."""
    from numpy.lib import format as npformat

    version = npformat.read_magic(fh)
    if version == (1, 0):
        return version, npformat.read_array_header_1_0(fh)
    if version == (2, 0):
        return version, npformat.read_array_header_2_0(fh)
    return version, None


def declared_sizes(zf: zipfile.ZipFile, where: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every ``.npy`` member, read from its header without decompressing
    the data. Object (pickled) members and unreadable headers raise :class:`BundleError`."""
    out: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        try:
            with zf.open(info) as fh:
                version, header = npy_header(fh)
                if header is None:
                    raise BundleError(
                        f"{where}: member {key} uses .npy format {version}, which bundles do not use."
                    )
                shape, _, dtype = header
        except BundleError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:
            raise BundleError(f"{where}: member {key} is not a readable .npy array ({exc}).") from None
        if dtype.hasobject:
            raise BundleError(f"{where}: holds pickled Python objects, which are never loaded.")
        out[key] = (tuple(int(s) for s in shape), dtype)
    return out


def bytes_needed(decl: dict[str, tuple[tuple[int, ...], np.dtype]]) -> int:
    """Memory the loaded arrays take (floats become float32, as the loader keeps them)."""
    total = 0
    for shape, dtype in decl.values():
        count = 1
        for s in shape:
            count *= max(int(s), 0)
        itemsize = max(dtype.itemsize, 4) if dtype.kind == "f" else dtype.itemsize
        total += count * itemsize
    return total


def fmt_bytes(n: float) -> str:
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n / 1024:.1f} KiB"


def mapped_member(fh: Any, info: zipfile.ZipInfo, where: str) -> tuple[np.dtype, tuple[int, ...], int] | None:
    """Where a stored (uncompressed) ``.npy`` member's array data lie in the zip file: its
    dtype, shape and byte offset, or None when it cannot be mapped (compressed, encrypted,
    Fortran order, not floats, empty). Inconsistent sizes raise :class:`BundleError`."""
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
        return None
    try:
        fh.seek(info.header_offset)
        head = fh.read(30)
        if len(head) != 30 or head[:4] != b"PK\x03\x04":
            raise BundleError(f"{where}: the zip entry of {info.filename} is damaged.")
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        start = info.header_offset + 30 + name_len + extra_len
        fh.seek(start)
        header = npy_header(fh)[1]
        if header is None:
            return None
        shape, fortran, dtype = header
        offset = fh.tell()
        size = fh.seek(0, os.SEEK_END)
    except BundleError:
        raise
    except (ValueError, OSError, EOFError, struct.error) as exc:
        raise BundleError(f"{where}: member {info.filename} is not a readable .npy array ({exc}).") from None
    count = 1
    for dim in shape:
        count *= int(dim)
    if fortran or dtype.kind != "f" or len(shape) != 2 or count == 0:
        return None
    nbytes = count * dtype.itemsize
    if offset - start + nbytes > info.file_size or offset + nbytes > size:
        raise BundleError(
            f"{where}: member {info.filename} is shorter than the array it declares (truncated file?)."
        )
    return dtype, tuple(int(d) for d in shape), offset
