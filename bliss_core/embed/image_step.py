"""The image step of an embedding run: hash every image, then embed the unique ones in batches.

A producer thread claims a batch (an inter-process lock in the cache), decodes and
preprocesses it with a small thread pool while the main thread runs the model on the previous
batch; each finished batch is written to the cache at once. Batches are the same for every run
with the same batch size, so an interrupted run resumes where it stopped, concurrent runs split
the work, and a re-run reads everything from the cache. The caller holds
``torch.inference_mode``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..errors import EmbedError, ImageRejected
from .cache import EmbeddingCache
from .progress import Progress
from .sources import ImageItem

__all__ = [
    "ImageJob",
    "check_all_embedded",
    "chunk_tag",
    "count_cached",
    "default_workers",
    "embed_items",
    "first_positions",
    "hash_items",
]

Rejected = dict[str, tuple[str, str]]  # key -> (image id, reason)


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def hash_items(items: Sequence[ImageItem], workers: int, prog: Progress) -> list[str]:
    """Every item's content key (the cache key), in order, a few threads at a time."""
    keys: list[str] = [""] * len(items)

    def one(i: int) -> None:
        keys[i] = items[i].content_key()

    step = 256
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for s in range(0, len(items), step):
            list(pool.map(one, range(s, min(s + step, len(items)))))
            prog.update(min(step, len(items) - s))
    return keys


def chunk_name(keys: Sequence[str]) -> str:
    return "img-" + chunk_tag(keys)


def chunk_tag(keys: Sequence[str]) -> str:
    """A shard's tag for a batch of image keys (what the shard file is named after)."""
    return hashlib.sha256("".join(keys).encode()).hexdigest()[:32]


def first_positions(keys: Sequence[str]) -> dict[str, int]:
    """Each distinct key with the position of its first image (the one embedded for it)."""
    first: dict[str, int] = {}
    for pos, key in enumerate(keys):
        first.setdefault(key, pos)
    return first


def count_cached(cache: EmbeddingCache, unique: Sequence[str], prog: Progress) -> list[str]:
    """The keys ``cache`` lacks; the others are reported to ``prog`` as cached."""
    missing = cache.missing(unique)
    prog.update(len(unique) - len(missing), cached=True, force=True)
    return missing


def check_all_embedded(cache: EmbeddingCache, unique: Sequence[str], rejected: Mapping[str, Any]) -> None:
    """After an engine ran: every key is in the cache or was refused, else :class:`EmbedError`."""
    cache.refresh()  # including what other processes embedded meanwhile
    left = [k for k in cache.missing(unique) if k not in rejected]
    if left:
        raise EmbedError(f"{len(left)} images could not be embedded or found in the cache; rerun to retry.")


def _preparer(preprocess: Callable[[Any], Any], first_item: Mapping[str, ImageItem]) -> Callable[[str], Any]:
    """A function from key to the model's input tensor, or the :class:`ImageRejected` why not."""

    def prepare(k: str) -> Any:
        it = first_item[k]
        try:
            return preprocess(it.load())
        except ImageRejected as exc:
            return exc
        except Exception as exc:  # a transform failing on an odd image must not stop the run
            return ImageRejected(it.image_id, f"preprocessing failed ({type(exc).__name__}: {exc})")

    return prepare


@dataclass
class _Batches:
    """What the producer thread shares with the consumer: the queue of prepared batches."""

    cache: EmbeddingCache
    chunks: list[list[str]]
    rejected: Rejected
    prepare: Callable[[str], Any]
    q: queue.Queue
    stop: threading.Event
    done: object

    def claim(self, chunk: list[str], blocking: bool, pool: ThreadPoolExecutor) -> bool:
        """Prepare ``chunk``'s missing images and queue them; False when another process holds it."""
        need = [k for k in self.cache.missing(chunk) if k not in self.rejected]
        if not need:
            return True
        handle = self.cache.acquire(chunk_name(chunk), blocking=blocking)
        if handle is None:
            return False
        self.cache.refresh()
        need = [k for k in self.cache.missing(chunk) if k not in self.rejected]
        if not need:
            self.cache.release(handle)
            return True
        self.q.put((chunk, need, list(pool.map(self.prepare, need)), handle))
        return True

    def produce(self, pool: ThreadPoolExecutor) -> None:
        """Every batch in order, then those another process held (waiting for them)."""
        try:
            deferred = []
            for chunk in self.chunks:
                if self.stop.is_set():
                    return
                if not self.claim(chunk, False, pool):
                    deferred.append(chunk)
            for chunk in deferred:
                if self.stop.is_set():
                    return
                self.claim(chunk, True, pool)
        except BaseException as exc:  # hand the error to the consumer
            self.q.put(exc)
        finally:
            self.q.put(self.done)

    def drain(self, thread: threading.Thread) -> None:
        """Stop the producer and release the batches it still holds (within 10 s)."""
        self.stop.set()
        deadline = time.monotonic() + 10.0
        while thread.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                m = self.q.get(timeout=0.1)
                if isinstance(m, tuple):
                    self.cache.release(m[3])


def _encode(loaded: Any, batches: _Batches, msg: tuple) -> int:
    """Run one prepared batch through the model into the cache; the images computed."""
    import torch

    from .models import encode_images

    chunk, need, results, handle = msg
    try:
        good = [(k, r) for k, r in zip(need, results, strict=True) if not isinstance(r, ImageRejected)]
        for k, r in zip(need, results, strict=True):
            if isinstance(r, ImageRejected):
                batches.rejected[k] = (r.name, r.reason)
        if good:
            emb = encode_images(loaded, torch.stack([r for _, r in good]))
            batches.cache.put([k for k, _ in good], emb, kind="image", tag=chunk_name(chunk)[4:])
        return len(good)
    finally:
        batches.cache.release(handle)


def embed_items(
    loaded: Any,
    items: Sequence[ImageItem],
    keys: Sequence[str],
    cache: EmbeddingCache,
    batch_size: int,
    workers: int,
    prog: Progress,
) -> tuple[int, Rejected]:
    """Embed every unique key not yet in ``cache``; return (images computed, rejected by key)."""
    first_item = {k: items[pos] for k, pos in first_positions(keys).items()}
    unique = list(first_item)
    batches = _Batches(
        cache=cache,
        chunks=[unique[i : i + batch_size] for i in range(0, len(unique), batch_size)],
        rejected={},
        prepare=_preparer(loaded.preprocess, first_item),
        q=queue.Queue(maxsize=2),
        stop=threading.Event(),
        done=object(),
    )
    computed = 0
    count_cached(cache, unique, prog)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        t = threading.Thread(target=batches.produce, args=(pool,), daemon=True)
        t.start()
        try:
            while (msg := batches.q.get()) is not batches.done:
                if isinstance(msg, BaseException):
                    raise msg
                computed += _encode(loaded, batches, msg)
                prog.update(len(msg[1]))
        finally:
            batches.drain(t)
    check_all_embedded(cache, unique, batches.rejected)
    return computed, batches.rejected


@dataclass
class ImageJob:
    """The image step of :func:`~bliss_core.embed.pipeline.embed_dataset`, handed to an engine
    other than the local one (``engine.embed_images(job)`` returns what :func:`embed_items`
    returns: images computed, and ``{key: (image_id, reason)}`` for those refused). Everything
    before (listing, hashing) and after (texts, meta, splits, writing) is the same code for
    every engine.

    ``source_args`` reopens the source elsewhere (``open_source(**source_args)``; None when an
    opened source was passed); ``model_args`` rebuilds the model (``load_model(**model_args)``,
    the device left to the engine). ``progress.update(n)`` reports images done.
    """

    loaded: Any
    items: Sequence[ImageItem]
    keys: Sequence[str]
    cache: EmbeddingCache
    batch_size: int
    workers: int
    progress: Progress
    source_args: dict[str, Any] | None
    model_args: dict[str, Any]
