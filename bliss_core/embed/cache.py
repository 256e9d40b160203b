"""On-disk embedding cache shared safely by concurrent processes.

Layout: ``<root>/<identity-hash>/`` per (backend, model, weights, preprocessing, precision),
holding ``identity.json`` (what the hash stands for), ``shards/*.bshard`` and ``locks/*.lock``.
A shard stores many embeddings (one batch) keyed by the SHA-256 of each image's content (or of
a prompt's text). Shards are written to a temporary file, fsynced and renamed into place, so
readers never see a partial shard; each carries a SHA-256 of its payload, and a shard that
fails the check (truncated, corrupted) is deleted and its embeddings are recomputed. Writers
coordinate per batch with ``fcntl`` locks, so concurrent runs split the work instead of
duplicating it, and a killed run leaves only complete shards behind. Many embeddings per
shard, because each atomic write needs an fsync (BENCHMARKS.md has the write rates).

Trust: the folders are created private (0700) unless the operator shares the cache on purpose
(``BLISS_CACHE_SHARED=1``: 0770, group members may read and write). Every entry is checked when
read (dimension, finite values); a bad one is dropped with a note and recomputed. Shards are read
oldest first and an entry, once read, is never replaced by a later shard for the same key; a
later shard that disagrees is noted. Errors name the cache folder and say how to clear it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import struct
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import settings
from ..errors import CacheError
from ..files import NotRegularFile, atomic_write, read_regular

__all__ = ["CacheError", "EmbeddingCache", "default_cache_dir", "identity_hash"]

_MAGIC = b"BLISSEMB1\n"
_SUFFIX = ".bshard"
_TEMP_GLOB = ".*.part"  # what files.atomic_write names its temporary files


def default_cache_dir() -> Path:
    """``$BLISS_CACHE_DIR`` or ``~/.cache/bliss-lab/embeddings``."""
    env = settings.get("BLISS_CACHE_DIR")
    return Path(env).expanduser() if env else settings.home_cache() / "embeddings"


def identity_hash(identity: Mapping[str, Any]) -> str:
    """Stable short hash of a cache identity (backend, model, weights, preprocessing, ...)."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _encode_shard(keys: Sequence[str], emb: np.ndarray, kind: str) -> bytes:
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    key_bytes = b"".join(bytes.fromhex(k) for k in keys)
    payload = key_bytes + emb.tobytes()
    header = json.dumps(
        {
            "n": len(keys),
            "dim": int(emb.shape[1]),
            "dtype": "float32",
            "kind": kind,
            "sha256": hashlib.sha256(payload).hexdigest(),
        }
    ).encode()
    return _MAGIC + struct.pack("<I", len(header)) + header + payload


def _decode_shard(data: bytes) -> tuple[str, list[str], np.ndarray]:
    """Parse and verify a shard; raise ValueError when it is damaged in any way."""
    if not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + 4:
        raise ValueError("bad magic")
    (hlen,) = struct.unpack_from("<I", data, len(_MAGIC))
    start = len(_MAGIC) + 4
    header = json.loads(data[start : start + hlen])
    payload = data[start + hlen :]
    n, dim = int(header["n"]), int(header["dim"])
    if n < 0 or dim <= 0 or len(payload) != n * 32 + n * dim * 4:
        raise ValueError("wrong length (truncated?)")
    if hashlib.sha256(payload).hexdigest() != header["sha256"]:
        raise ValueError("checksum mismatch")
    keys = [payload[i * 32 : (i + 1) * 32].hex() for i in range(n)]
    emb = np.frombuffer(payload, dtype=np.float32, count=n * dim, offset=n * 32).reshape(n, dim)
    return str(header.get("kind", "image")), keys, emb


class EmbeddingCache:
    """Embeddings of one identity, keyed by content hash.

    ``dim``: the embedding dimension of the model; entries of another dimension are dropped
    (when None, the first valid shard sets it). ``notes`` lists, in words, what was dropped or
    ignored while reading; callers show it.
    """

    def __init__(
        self, identity: Mapping[str, Any], root: str | os.PathLike | None = None, dim: int | None = None
    ) -> None:
        self.identity = dict(identity)
        self.root = Path(root).expanduser() if root else default_cache_dir()
        self.dir = self.root / identity_hash(self.identity)
        self.shard_dir = self.dir / "shards"
        self.lock_dir = self.dir / "locks"
        self.dim = int(dim) if dim else None
        self.shared = bool(settings.get("BLISS_CACHE_SHARED"))
        self._file_mode = 0o660 if self.shared else 0o600
        try:
            for folder in (self.root, self.dir, self.shard_dir, self.lock_dir):
                self._make_dir(folder)
            ident = self.dir / "identity.json"
            if not ident.exists():
                with atomic_write(ident, file_mode=self._file_mode) as fh:
                    fh.write(json.dumps(self.identity, sort_keys=True, indent=1, default=str).encode())
        except OSError as exc:
            raise CacheError(
                f"{self.dir}: the embedding cache folder cannot be created "
                f"({getattr(exc, 'strerror', None) or exc}); {self.how_to_clear()}"
            ) from None
        self._emb: dict[str, dict[str, np.ndarray]] = {"image": {}, "text": {}}
        self._seen: set[str] = set()
        self.corrupt_shards: list[str] = []
        self.notes: list[str] = []
        self._remove_stale_temps()
        self.refresh()

    def how_to_clear(self) -> str:
        """The sentence every cache error ends with."""
        return f"to start this cache afresh, delete {self.dir} (or point BLISS_CACHE_DIR elsewhere)."

    def _make_dir(self, folder: Path) -> None:
        """Create ``folder`` private (0700), or 0770 when the cache is shared on purpose; folders
        that already exist keep their permissions (the operator chose them)."""
        if folder.is_dir():
            return
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o770 if self.shared else 0o700)

    def _remove_stale_temps(self, older_than_s: float = 3600.0) -> None:
        """Delete temporary files left by killed writers (never read; only old ones, to spare live writers)."""
        now = time.time()
        for folder in (self.shard_dir, self.dir):
            for p in folder.glob(_TEMP_GLOB):
                with contextlib.suppress(OSError):
                    if now - p.stat().st_mtime > older_than_s:
                        p.unlink()

    # -- reading ------------------------------------------------------------------------------
    def _shards_oldest_first(self) -> list[tuple[str, bool]]:
        """Unseen shard names, oldest first, each with whether it is a regular file (a symlink
        is not: a shard is never read through a link)."""
        entries = []
        with os.scandir(self.shard_dir) as it:
            for e in it:
                if e.name.endswith(_SUFFIX) and e.name not in self._seen:
                    with contextlib.suppress(OSError):
                        st = e.stat(follow_symlinks=False)
                        entries.append((st.st_mtime_ns, e.name, stat.S_ISREG(st.st_mode)))
        return [(name, regular) for _, name, regular in sorted(entries)]

    def refresh(self) -> int:
        """Load shards written since the last refresh (by any process), oldest first; return how many."""
        loaded = 0
        try:
            names = self._shards_oldest_first()
        except OSError:
            return 0
        for name, regular in names:
            path = self.shard_dir / name
            try:
                if not regular:
                    raise NotRegularFile(path, "link or special file")
                data = read_regular(path)
            except NotRegularFile:
                self._seen.add(name)
                self.notes.append(f"cache: ignored {name}, which is not a regular file.")
                continue
            except OSError:
                continue
            try:
                kind, keys, emb = _decode_shard(data)
            except Exception:
                self.corrupt_shards.append(name)
                self.notes.append(f"cache: deleted the damaged shard {name}; its embeddings are recomputed.")
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            self._seen.add(name)
            self._take(name, kind, keys, emb)
            loaded += 1
        return loaded

    def _take(self, name: str, kind: str, keys: list[str], emb: np.ndarray) -> None:
        if kind not in ("image", "text"):
            self.notes.append(f"cache: ignored {name}, whose kind {kind!r} is unknown.")
            return
        if self.dim is None and len(keys):
            self.dim = int(emb.shape[1])
        if emb.shape[1] != self.dim:
            self.notes.append(
                f"cache: dropped {len(keys)} entries of {name}: dimension {emb.shape[1]}, "
                f"expected {self.dim}; they are recomputed."
            )
            return
        finite = np.isfinite(emb).all(axis=1)
        if not finite.all():
            self.notes.append(
                f"cache: dropped {int((~finite).sum())} entries of {name} with NaN or infinite "
                "values; they are recomputed."
            )
        table = self._emb[kind]
        disagree = 0
        for k, row, ok in zip(keys, emb, finite):
            if not ok:
                continue
            have = table.get(k)
            if have is None:
                table[k] = row
            elif not np.allclose(have, row, atol=1e-3):
                disagree += 1
        if disagree:
            self.notes.append(
                f"cache: {name} disagrees with earlier entries for {disagree} key(s); "
                "the earlier entries were kept."
            )

    def get(self, key: str, kind: str = "image") -> np.ndarray | None:
        """The cached embedding for ``key``, or None."""
        return self._emb.get(kind, {}).get(key)

    def missing(self, keys: Iterable[str], kind: str = "image") -> list[str]:
        """The keys that have no cached embedding yet, in order."""
        table = self._emb.get(kind, {})
        return [k for k in keys if k not in table]

    def __len__(self) -> int:
        return sum(len(t) for t in self._emb.values())

    # -- writing ------------------------------------------------------------------------------
    def put(self, keys: Sequence[str], emb: np.ndarray, kind: str = "image", tag: str = "") -> None:
        """Store embeddings for ``keys`` as one new shard (atomic) and remember them."""
        if len(keys) == 0:
            return
        emb = np.asarray(emb, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[0] != len(keys):
            raise ValueError(f"put: {len(keys)} keys but embeddings of shape {emb.shape}")
        name = f"{kind}-{(tag or keys[0])[:16]}-{uuid.uuid4().hex[:12]}{_SUFFIX}"
        try:
            with atomic_write(self.shard_dir / name, file_mode=self._file_mode) as fh:
                fh.write(_encode_shard(keys, emb, kind))
        except OSError as exc:  # a full, read-only or foreign disk
            cause = exc.__context__ if isinstance(exc.__context__, OSError) else exc
            raise CacheError(
                f"{self.shard_dir}: cannot write to the embedding cache "
                f"({getattr(cause, 'strerror', None) or exc}); {self.how_to_clear()}"
            ) from None
        self._seen.add(name)
        self._take(name, kind, list(keys), emb.copy())

    def acquire(self, name: str, blocking: bool = True) -> int | None:
        """Take the exclusive inter-process lock ``name``; return a handle, or None when busy.

        The lock is released by :meth:`release` or automatically when the process dies.
        """
        import fcntl

        try:
            fd = os.open(
                self.lock_dir / f"{name}.lock",
                os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0),
                self._file_mode,
            )
        except OSError as exc:
            raise CacheError(
                f"{self.lock_dir}: cannot take a lock in the embedding cache "
                f"({exc.strerror or exc}); {self.how_to_clear()}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return fd

    def release(self, handle: int | None) -> None:
        """Release a lock taken with :meth:`acquire`."""
        import fcntl

        if handle is None:
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            os.close(handle)

    @contextlib.contextmanager
    def lock(self, name: str, blocking: bool = True) -> Iterator[bool]:
        """Context-manager form of :meth:`acquire`; yields False if not blocking and busy."""
        handle = self.acquire(name, blocking)
        try:
            yield handle is not None
        finally:
            self.release(handle)
