"""On-disk embedding cache shared safely by concurrent processes.

Layout: ``<root>/<identity-hash>/`` per (model, weights, preprocessing), holding
``identity.json`` (what the hash stands for), ``shards/*.bshard`` and ``locks/*.lock``.
A shard stores many embeddings (one batch) keyed by the SHA-256 of each image's content (or
of a prompt's text). Shards are written to a temporary file, fsynced and renamed into place,
so readers never see a partial shard; each carries a SHA-256 of its payload, and a shard that
fails the check (truncated, corrupted) is deleted and its embeddings are recomputed.
Writers coordinate per batch with ``fcntl`` locks, so concurrent runs split the work instead
of duplicating it, and a killed run leaves only complete shards behind.

Why shards rather than one file per image: each atomic write needs an fsync, which dominates.
Measured on the 2-core development machine (2,000 x 512-d float32 embeddings, busy machine):
one file per image wrote about 370 embeddings/s and read 22,000/s; shards of 64 wrote about
4,000/s and read 48,000/s. Per-image files would throttle small models, so shards it is.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import struct
import uuid
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .atomic import atomic_write

__all__ = ["EmbeddingCache", "CacheError", "default_cache_dir", "identity_hash"]

_MAGIC = b"BLISSEMB1\n"
_SUFFIX = ".bshard"


class CacheError(RuntimeError):
    """The cache folder cannot be used. The message is one sentence."""


def default_cache_dir() -> Path:
    """``$BLISS_CACHE_DIR`` or ``~/.cache/bliss-lab/embeddings``."""
    env = os.environ.get("BLISS_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "bliss-lab" / "embeddings"


def identity_hash(identity: Mapping[str, Any]) -> str:
    """Stable short hash of a cache identity (model, weights, preprocessing)."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _atomic_write(path: Path, data: bytes) -> None:
    with atomic_write(path) as fh:
        fh.write(data)


def _encode_shard(keys: Sequence[str], emb: np.ndarray, kind: str) -> bytes:
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    key_bytes = b"".join(bytes.fromhex(k) for k in keys)
    payload = key_bytes + emb.tobytes()
    header = json.dumps(
        {"n": len(keys), "dim": int(emb.shape[1]), "dtype": "float32", "kind": kind,
         "sha256": hashlib.sha256(payload).hexdigest()}
    ).encode()
    return _MAGIC + struct.pack("<I", len(header)) + header + payload


def _decode_shard(data: bytes) -> tuple[str, list[str], np.ndarray]:
    """Parse and verify a shard; raise ValueError when it is damaged in any way."""
    if not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + 4:
        raise ValueError("bad magic")
    (hlen,) = struct.unpack_from("<I", data, len(_MAGIC))
    start = len(_MAGIC) + 4
    header = json.loads(data[start:start + hlen])
    payload = data[start + hlen:]
    n, dim = int(header["n"]), int(header["dim"])
    if len(payload) != n * 32 + n * dim * 4:
        raise ValueError("wrong length (truncated?)")
    if hashlib.sha256(payload).hexdigest() != header["sha256"]:
        raise ValueError("checksum mismatch")
    keys = [payload[i * 32:(i + 1) * 32].hex() for i in range(n)]
    emb = np.frombuffer(payload, dtype=np.float32, count=n * dim, offset=n * 32).reshape(n, dim)
    return str(header.get("kind", "image")), keys, emb


class EmbeddingCache:
    """Embeddings of one (model, weights, preprocessing) identity, keyed by content hash."""

    def __init__(self, identity: Mapping[str, Any], root: str | os.PathLike | None = None) -> None:
        self.identity = dict(identity)
        self.root = Path(root).expanduser() if root else default_cache_dir()
        self.dir = self.root / identity_hash(self.identity)
        self.shard_dir = self.dir / "shards"
        self.lock_dir = self.dir / "locks"
        try:
            self.shard_dir.mkdir(parents=True, exist_ok=True)
            self.lock_dir.mkdir(parents=True, exist_ok=True)
            ident = self.dir / "identity.json"
            if not ident.exists():
                _atomic_write(ident, json.dumps(self.identity, sort_keys=True, indent=1, default=str).encode())
        except OSError as exc:
            raise CacheError(f"{self.dir}: the embedding cache folder cannot be created ({exc.strerror or exc}).") from None
        self._emb: dict[str, dict[str, np.ndarray]] = {"image": {}, "text": {}}
        self._seen: set[str] = set()
        self.corrupt_shards: list[str] = []
        self._remove_stale_temps()
        self.refresh()

    def _remove_stale_temps(self, older_than_s: float = 3600.0) -> None:
        """Delete temporary files left by killed writers (never read; only old ones, to spare live writers)."""
        import time

        now = time.time()
        for p in self.shard_dir.glob(".tmp-*.part"):
            with contextlib.suppress(OSError):
                if now - p.stat().st_mtime > older_than_s:
                    p.unlink()

    # -- reading ------------------------------------------------------------------------------
    def refresh(self) -> int:
        """Load shards written since the last refresh (by any process); return how many."""
        loaded = 0
        try:
            names = sorted(n for n in os.listdir(self.shard_dir) if n.endswith(_SUFFIX))
        except OSError:
            return 0
        for name in names:
            if name in self._seen:
                continue
            path = self.shard_dir / name
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            except OSError:
                continue
            try:
                kind, keys, emb = _decode_shard(data)
            except Exception:
                self.corrupt_shards.append(name)
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            self._seen.add(name)
            table = self._emb.setdefault(kind, {})
            for k, row in zip(keys, emb):
                table.setdefault(k, row)
            loaded += 1
        return loaded

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
            _atomic_write(self.shard_dir / name, _encode_shard(keys, emb, kind))
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
                raise CacheError(f"{self.shard_dir}: cannot write to the embedding cache ({exc.strerror}).") from None
            raise
        self._seen.add(name)
        table = self._emb.setdefault(kind, {})
        for k, row in zip(keys, emb):
            table.setdefault(k, row.copy())

    def acquire(self, name: str, blocking: bool = True) -> int | None:
        """Take the exclusive inter-process lock ``name``; return a handle, or None when busy.

        The lock is released by :meth:`release` or automatically when the process dies.
        """
        import fcntl

        fd = os.open(self.lock_dir / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
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
