"""``bliss embed``: images and texts through a vision-language model into a bundle.

Work flow: open the data source (fails fast, before the model loads), hash every image's
content, then walk the unique images in fixed batches. A producer thread claims a batch (an
inter-process lock in the cache), decodes and preprocesses it with a small thread pool while
the main thread runs the model on the previous batch under ``torch.inference_mode``; each
finished batch is written to the cache at once. Batches are the same for every run with the
same batch size, so an interrupted run resumes where it stopped, concurrent runs split the
work, and a re-run reads everything from the cache. Class names and dictionary entries are
embedded with the same prompt, or the same ensemble of templates (every filled template cached),
and the bundle is written atomically.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..core.bundle import Bundle, save_bundle
from ..core.text import DEFAULT_PROMPT, fill_prompt
from ..errors import EmbedError, ImageRejected
from ..files import check_output
from .cache import EmbeddingCache
from .dictionary import load_dictionary
from .prompts import Prompt, ensemble_mean, resolve_prompt
from .sources import ImageItem, ImageSource, open_source

__all__ = ["EmbedError", "EmbedProgress", "EmbedReport", "ImageJob", "embed_dataset", "embed_images"]

MAX_SKIPPED_IN_META = 1000


@dataclass
class EmbedProgress:
    """A progress event: ``stage`` is "hashing", "images" or "texts"."""

    stage: str
    done: int
    total: int
    rate: float  # items per second in this stage so far
    eta_s: float | None
    cached: int = 0

    def line(self) -> str:
        """A tqdm-like one-line rendering."""
        pct = 100.0 * self.done / self.total if self.total else 100.0
        eta = "?" if self.eta_s is None else _fmt_s(self.eta_s)
        extra = f", {self.cached} cached" if self.cached else ""
        return (
            f"{self.stage:>7}: {pct:5.1f}% {self.done}/{self.total} [{self.rate:.1f} it/s, ETA {eta}{extra}]"
        )


def _fmt_s(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


@dataclass
class EmbedReport:
    """What a run did: counts, timings, where the bundle went, and what was skipped."""

    out: str | None
    n_images: int = 0  # rows in the bundle
    n_unique: int = 0
    n_computed: int = 0  # images run through the model in this run
    n_from_cache: int = 0
    n_texts_computed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    corrupt_cache_shards: int = 0
    cache_notes: list[str] = field(default_factory=list)  # what the cache dropped or ignored, in words
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def images_per_s(self) -> float:
        t = self.seconds.get("images", 0.0)
        return self.n_computed / t if t > 0 else 0.0


class _Progress:
    def __init__(
        self, stage: str, total: int, cb: Callable[[EmbedProgress], None] | None, every_s: float = 0.5
    ):
        self.stage, self.total, self.cb, self.every = stage, total, cb, every_s
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.done = 0
        self.cached = 0
        self.work_done = 0

    def update(self, n: int, cached: bool = False, force: bool = False) -> None:
        self.done += n
        if cached:
            self.cached += n
        else:
            self.work_done += n
        now = time.perf_counter()
        if self.cb and (force or now - self.last >= self.every or self.done >= self.total):
            self.last = now
            el = max(now - self.t0, 1e-9)
            rate = self.work_done / el if self.work_done else self.done / el
            left = self.total - self.done
            eta = left / rate if rate > 0 else None
            self.cb(EmbedProgress(self.stage, self.done, self.total, rate, eta, self.cached))


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _hash_items(items: Sequence[ImageItem], workers: int, prog: _Progress) -> list[str]:
    keys: list[str] = [""] * len(items)

    def one(i: int) -> None:
        keys[i] = items[i].content_key()

    step = 256
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for s in range(0, len(items), step):
            list(pool.map(one, range(s, min(s + step, len(items)))))
            prog.update(min(step, len(items) - s))
    return keys


def _chunk_name(keys: Sequence[str]) -> str:
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


def count_cached(cache: EmbeddingCache, unique: Sequence[str], prog: _Progress) -> list[str]:
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


def _embed_items(
    loaded: Any,
    items: Sequence[ImageItem],
    keys: Sequence[str],
    cache: EmbeddingCache,
    batch_size: int,
    workers: int,
    prog: _Progress,
) -> tuple[int, dict[str, tuple[str, str]]]:
    """Embed every unique key not yet in ``cache``; return (images computed, rejected by key)."""
    import torch

    from .models import encode_images

    first_item = {k: items[pos] for k, pos in first_positions(keys).items()}
    unique = list(first_item)
    chunks = [unique[i : i + batch_size] for i in range(0, len(unique), batch_size)]
    rejected: dict[str, tuple[str, str]] = {}
    computed = 0
    preprocess = loaded.preprocess

    def prepare(k: str) -> Any:
        it = first_item[k]
        try:
            return preprocess(it.load())
        except ImageRejected as exc:
            return exc
        except Exception as exc:  # a transform failing on an odd image must not stop the run
            return ImageRejected(it.image_id, f"preprocessing failed ({type(exc).__name__}: {exc})")

    stop = threading.Event()
    q: queue.Queue = queue.Queue(maxsize=2)
    DONE = object()

    def producer(pool: ThreadPoolExecutor) -> None:
        try:
            deferred = []
            for blocking, todo in ((False, chunks), (True, None)):
                todo = todo if todo is not None else deferred
                for chunk in todo:
                    if stop.is_set():
                        return
                    need = cache.missing(chunk)
                    need = [k for k in need if k not in rejected]
                    if not need:
                        continue
                    handle = cache.acquire(_chunk_name(chunk), blocking=blocking)
                    if handle is None:
                        deferred.append(chunk)
                        continue
                    cache.refresh()
                    need = [k for k in cache.missing(chunk) if k not in rejected]
                    if not need:
                        cache.release(handle)
                        continue
                    results = list(pool.map(prepare, need))
                    q.put((chunk, need, results, handle))
        except BaseException as exc:  # hand the error to the consumer
            q.put(exc)
        finally:
            q.put(DONE)

    count_cached(cache, unique, prog)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        t = threading.Thread(target=producer, args=(pool,), daemon=True)
        t.start()
        try:
            while True:
                msg = q.get()
                if msg is DONE:
                    break
                if isinstance(msg, BaseException):
                    raise msg
                chunk, need, results, handle = msg
                try:
                    good = [(k, r) for k, r in zip(need, results) if not isinstance(r, ImageRejected)]
                    for k, r in zip(need, results):
                        if isinstance(r, ImageRejected):
                            rejected[k] = (r.name, r.reason)
                    if good:
                        batch = torch.stack([r for _, r in good])
                        emb = encode_images(loaded, batch)
                        cache.put([k for k, _ in good], emb, kind="image", tag=_chunk_name(chunk)[4:])
                        computed += len(good)
                finally:
                    cache.release(handle)
                prog.update(len(need))
        finally:
            stop.set()
            deadline = time.monotonic() + 10.0
            while t.is_alive() and time.monotonic() < deadline:
                try:
                    m = q.get(timeout=0.1)
                    if isinstance(m, tuple):
                        cache.release(m[3])
                except queue.Empty:
                    pass
    check_all_embedded(cache, unique, rejected)
    return computed, rejected


@dataclass
class ImageJob:
    """The image step of :func:`embed_dataset`, handed to an engine other than the local one
    (``engine.embed_images(job)`` returns what :func:`_embed_items` returns: images computed,
    and ``{key: (image_id, reason)}`` for those refused). Everything before (listing, hashing)
    and after (texts, meta, splits, writing) is the same code for every engine.

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
    progress: _Progress
    source_args: dict[str, Any] | None
    model_args: dict[str, Any]


def _embed_prompts(
    loaded: Any, names: Sequence[str], prompt: Prompt, cache: EmbeddingCache, batch_size: int, prog: _Progress
) -> tuple[np.ndarray, int]:
    """Embed every name under every template of ``prompt`` (one cache entry per filled prompt,
    written a batch at a time, so an interrupted ensemble resumes), then average per name
    (:func:`~bliss_core.embed.prompts.ensemble_mean`)."""
    from .models import encode_texts

    prompts = [fill_prompt(template, str(n)) for template in prompt.templates for n in names]
    keys = [hashlib.sha256(("text\0" + p).encode()).hexdigest() for p in prompts]
    computed = 0
    need = cache.missing(keys, kind="text")
    need_set = set(need)
    prog.update(sum(k not in need_set for k in keys), cached=True, force=True)
    if need:
        with cache.lock("text-" + hashlib.sha256("".join(need).encode()).hexdigest()[:32]):
            cache.refresh()
            need_idx: dict[str, int] = {}
            for i, k in enumerate(keys):
                if k in need_idx or cache.get(k, "text") is not None:
                    continue
                need_idx[k] = i
            todo = list(need_idx.items())
            step = max(1, batch_size)
            for s in range(0, len(todo), step):
                part = todo[s : s + step]
                emb = encode_texts(loaded, [prompts[i] for _, i in part], template="{}", batch_size=step)
                cache.put([k for k, _ in part], emb, kind="text")
                computed += len(part)
                prog.update(len(part))
    if prog.done < prog.total:
        prog.update(prog.total - prog.done, cached=True, force=True)
    out = np.stack([cache.get(k, "text") for k in keys]).astype(np.float32)
    return ensemble_mean(out.reshape(len(prompt.templates), len(names), -1)), computed


def embed_dataset(
    data: str | ImageSource,
    model: str = "ViT-B-32",
    pretrained: str = "openai",
    out: str | os.PathLike | None = None,
    dictionary: str | Sequence[str] = "imagenet",
    prompt: str = DEFAULT_PROMPT,
    device: str = "auto",
    batch_size: int = 64,
    per_class_limit: int | None = None,
    preprocess: str = "model",
    data_root: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    workers: int | None = None,
    progress: Callable[[EmbedProgress], None] | None = None,
    loaded: Any | None = None,
    confine_to: str | os.PathLike | None = None,
    class_names: str = "readable",
    precision: str = "auto",
    engine: Any = None,
) -> tuple[Bundle, EmbedReport]:
    """Embed a data source and a dictionary into a :class:`Bundle`, saved to ``out`` if given.

    ``data`` is a source spec (see :func:`bliss_core.embed.sources.open_source`) or an opened
    source; ``dictionary`` is a built-in name, a file, or a list of entries (held in memory);
    ``loaded`` reuses a model from :func:`bliss_core.embed.models.load_model`. ``out`` is checked
    before any work. Rejected images are skipped and listed in the report and in the bundle's
    meta. ``engine``: None or ``"local"`` embeds the images here; an object with ``name`` and
    ``embed_images(job: ImageJob)`` (e.g. :class:`bliss_core.scale.ray_engine.RayEngine`) does
    the image step elsewhere; the meta records ``"engine"``. Raises a
    :class:`~bliss_core.errors.BlissError` with a one-sentence message.
    """
    t_start = time.perf_counter()
    prompt_spec = resolve_prompt(prompt)
    if out is not None:
        check_output(out)
    if int(batch_size) < 1:
        raise EmbedError(f"batch size must be at least 1, got {batch_size}.")
    batch_size = int(batch_size)
    workers = _default_workers() if workers is None else max(1, int(workers))
    engine_name = "local" if engine in (None, "local") else getattr(engine, "name", None)
    if not isinstance(engine_name, str) or (engine_name != "local" and not hasattr(engine, "embed_images")):
        raise EmbedError(f"unknown embedding engine {engine!r}; use 'local' or an engine object.")
    report = EmbedReport(out=str(out) if out is not None else None)
    timings = report.seconds

    t = time.perf_counter()
    source = (
        data
        if isinstance(data, ImageSource)
        else open_source(
            data,
            data_root=data_root,
            per_class_limit=per_class_limit,
            confine_to=confine_to,
            class_names=class_names,
        )
    )
    if isinstance(dictionary, str):
        dict_spec = dictionary
        dict_names = load_dictionary(dictionary)
    else:
        dict_names = [str(d).strip() for d in dictionary if str(d).strip()]
        dict_spec = f"list of {len(dict_names)} entries"
        if not dict_names:
            raise EmbedError("the dictionary list is empty.")
    if not source.items:
        raise EmbedError(f"{source.spec}: no images to embed.")
    timings["open"] = time.perf_counter() - t
    try:
        t = time.perf_counter()
        if loaded is None:
            from .models import load_model

            loaded = load_model(model, pretrained, device=device, preprocess=preprocess, precision=precision)
        timings["model"] = time.perf_counter() - t
        cache = EmbeddingCache(loaded.cache_identity(), cache_dir, dim=loaded.embed_dim)

        import torch

        t = time.perf_counter()
        items = source.items
        keys = _hash_items(items, workers, _Progress("hashing", len(items), progress))
        timings["hashing"] = time.perf_counter() - t

        t = time.perf_counter()
        n_unique = len(set(keys))
        img_progress = _Progress("images", n_unique, progress)
        if engine_name == "local":
            with torch.inference_mode():
                computed, rejected = _embed_items(
                    loaded, items, keys, cache, batch_size, workers, img_progress
                )
        else:
            source_args = (
                None
                if isinstance(data, ImageSource)
                else dict(
                    spec=data,
                    data_root=None if data_root is None else str(data_root),
                    per_class_limit=per_class_limit,
                    confine_to=None if confine_to is None else str(confine_to),
                    class_names=class_names,
                )
            )
            model_args = dict(name=model, pretrained=pretrained, preprocess=preprocess, precision=precision)
            computed, rejected = engine.embed_images(
                ImageJob(
                    loaded, items, keys, cache, batch_size, workers, img_progress, source_args, model_args
                )
            )
        timings["images"] = time.perf_counter() - t

        t = time.perf_counter()
        text_names = list(source.class_names) + list(dict_names)
        text_emb, n_text = _embed_prompts(
            loaded,
            text_names,
            prompt_spec,
            cache,
            max(batch_size, 64),
            _Progress("texts", len(text_names) * len(prompt_spec.templates), progress),
        )
        timings["texts"] = time.perf_counter() - t
    finally:
        source.close()

    keep = [i for i, k in enumerate(keys) if k not in rejected]
    skipped = list(source.skipped)
    seen_bad: set[str] = set()
    for i, k in enumerate(keys):
        if k in rejected:
            name, reason = rejected[k]
            if items[i].image_id != name:
                name = items[i].image_id
            if name not in seen_bad:
                seen_bad.add(name)
                skipped.append((name, reason))
    if not keep:
        raise EmbedError(
            f"{source.spec}: none of the {len(items)} images could be decoded; see the skipped files."
        )
    image_emb = np.stack([cache.get(keys[i]) for i in keep]).astype(np.float32)
    n_cls = len(source.class_names)
    meta: dict[str, Any] = dict(loaded.meta)
    meta.update(
        {
            "prompt": prompt_spec.name,
            "prompt_templates": len(prompt_spec.templates),
            "dataset": source.spec,
            "dictionary": dict_spec,
            "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "untrained": bool(loaded.meta.get("untrained", False)),
            "per_class_limit": per_class_limit,
            "n_skipped": len(skipped),
            "skipped": [{"file": n, "reason": r} for n, r in skipped[:MAX_SKIPPED_IN_META]],
            "class_folders": source.meta.get("class_folders"),
            "split_rule": source.meta.get("split_rule"),
            "engine": engine_name,
        }
    )
    bundle = Bundle(
        image_emb=image_emb,
        image_label=np.array([items[i].label for i in keep], dtype=np.int64),
        image_is_train=np.array([items[i].is_train for i in keep], dtype=bool),
        class_names=list(source.class_names),
        class_text_emb=text_emb[:n_cls],
        dict_names=list(dict_names),
        dict_text_emb=text_emb[n_cls:],
        meta=meta,
        image_id=[items[i].image_id for i in keep],
    )
    if out is not None:
        save_bundle(bundle, out)
    report.n_images = len(keep)
    report.n_unique = n_unique
    report.n_computed = computed
    report.n_from_cache = n_unique - computed - len(rejected)
    report.n_texts_computed = n_text
    report.skipped = skipped
    report.corrupt_cache_shards = len(cache.corrupt_shards)
    report.cache_notes = list(cache.notes)
    timings["total"] = time.perf_counter() - t_start
    return bundle, report


def embed_images(
    loaded: Any,
    images: Sequence[Any],
    batch_size: int = 32,
    progress: Callable[[EmbedProgress], None] | None = None,
) -> np.ndarray:
    """Embed decoded PIL images (e.g. from :func:`bliss_core.data.images_from_uploads`) with a loaded model."""
    import torch

    from .models import encode_images

    prog = _Progress("images", len(images), progress)
    out = []
    for s in range(0, len(images), max(1, batch_size)):
        part = images[s : s + batch_size]
        batch = torch.stack([loaded.preprocess(im) for im in part])
        out.append(encode_images(loaded, batch))
        prog.update(len(part))
    dim = int(getattr(loaded.model, "embed_dim", 0) or 0)
    return np.concatenate(out) if out else np.zeros((0, dim), dtype=np.float32)
