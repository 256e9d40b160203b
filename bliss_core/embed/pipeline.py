"""``bliss embed``: images and texts through a vision-language model into a bundle.

Work flow: open the data source (fails fast, before the model loads), hash every image's
content, then embed the unique images in fixed batches (:mod:`.image_step`: resumable, shared
between concurrent runs, read from the cache on a re-run). Class names and dictionary entries
are embedded with the same prompt, or the same ensemble of templates (every filled template
cached), and the bundle is written atomically. Progress events and the final report are
:mod:`.progress`'s types.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..core.bundle import Bundle, save_bundle
from ..core.text import DEFAULT_PROMPT, fill_prompt
from ..errors import EmbedError
from ..files import check_output
from .cache import EmbeddingCache
from .dictionary import load_dictionary
from .image_step import (
    ImageJob,
    check_all_embedded,
    chunk_tag,
    count_cached,
    default_workers,
    embed_items,
    first_positions,
    hash_items,
)
from .progress import EmbedProgress, EmbedReport, Progress
from .prompts import Prompt, ensemble_mean, resolve_prompt
from .sources import ImageItem, ImageSource, open_source

__all__ = [
    "EmbedError",
    "EmbedProgress",
    "EmbedReport",
    "ImageJob",
    "check_all_embedded",
    "chunk_tag",
    "count_cached",
    "embed_dataset",
    "embed_images",
    "first_positions",
]

MAX_SKIPPED_IN_META = 1000

# The names the benchmarks (and older callers) use for the image step's pieces.
_Progress = Progress
_default_workers = default_workers
_hash_items = hash_items
_embed_items = embed_items


def _embed_prompts(
    loaded: Any, names: Sequence[str], prompt: Prompt, cache: EmbeddingCache, batch_size: int, prog: Progress
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


def _engine_name(engine: Any) -> str:
    name = "local" if engine in (None, "local") else getattr(engine, "name", None)
    if not isinstance(name, str) or (name != "local" and not hasattr(engine, "embed_images")):
        raise EmbedError(f"unknown embedding engine {engine!r}; use 'local' or an engine object.")
    return name


def _dictionary(dictionary: str | Sequence[str]) -> tuple[str, list[str]]:
    """(how the dictionary was given, its entries): a name or file, or a list held in memory."""
    if isinstance(dictionary, str):
        return dictionary, load_dictionary(dictionary)
    names = [str(d).strip() for d in dictionary if str(d).strip()]
    if not names:
        raise EmbedError("the dictionary list is empty.")
    return f"list of {len(names)} entries", names


def _run_images(engine: Any, job: ImageJob, engine_name: str) -> tuple[int, dict[str, tuple[str, str]]]:
    """The image step, here (under ``torch.inference_mode``) or on ``engine``."""
    if engine_name != "local":
        return engine.embed_images(job)
    import torch

    with torch.inference_mode():
        return embed_items(
            job.loaded, job.items, job.keys, job.cache, job.batch_size, job.workers, job.progress
        )


def _skipped(
    source: ImageSource, items: Sequence[ImageItem], keys: Sequence[str], rejected: dict[str, tuple[str, str]]
) -> list[tuple[str, str]]:
    """What the listing skipped, then every refused image once, by its own id."""
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
    return skipped


def _meta(
    loaded: Any,
    prompt_spec: Prompt,
    source: ImageSource,
    dict_spec: str,
    per_class_limit: int | None,
    skipped: list[tuple[str, str]],
    engine_name: str,
) -> dict[str, Any]:
    """The bundle's meta: the model's own, then how this run made the bundle."""
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
    return meta


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
    workers = default_workers() if workers is None else max(1, int(workers))
    engine_name = _engine_name(engine)
    report = EmbedReport(out=str(out) if out is not None else None)
    timings = report.seconds

    t = time.perf_counter()
    source, source_args = _open(data, data_root, per_class_limit, confine_to, class_names)
    dict_spec, dict_names = _dictionary(dictionary)
    if not source.items:
        raise EmbedError(f"{source.spec}: no images to embed.")
    timings["open"] = time.perf_counter() - t
    model_args = dict(name=model, pretrained=pretrained, preprocess=preprocess, precision=precision)
    try:
        t = time.perf_counter()
        if loaded is None:
            from .models import load_model

            loaded = load_model(model, pretrained, device=device, preprocess=preprocess, precision=precision)
        timings["model"] = time.perf_counter() - t
        run = _Run(loaded, source, EmbeddingCache(loaded.cache_identity(), cache_dir, dim=loaded.embed_dim))
        run.embed_images(engine, engine_name, batch_size, workers, progress, source_args, model_args, timings)
        run.embed_texts(list(dict_names), prompt_spec, batch_size, progress, timings)
    finally:
        source.close()
    bundle = run.bundle(
        _meta(loaded, prompt_spec, source, dict_spec, per_class_limit, run.skipped(), engine_name)
    )
    if out is not None:
        save_bundle(bundle, out)
    run.fill(report)
    timings["total"] = time.perf_counter() - t_start
    return bundle, report


@dataclass
class _Run:
    """One run's state between its steps: the keys, what was computed, what was refused."""

    loaded: Any
    source: ImageSource
    cache: EmbeddingCache
    keys: list[str] = field(default_factory=list)
    computed: int = 0
    rejected: dict[str, tuple[str, str]] = field(default_factory=dict)
    text_emb: np.ndarray | None = None
    n_text: int = 0
    dict_names: list[str] = field(default_factory=list)

    def embed_images(
        self,
        engine: Any,
        engine_name: str,
        batch_size: int,
        workers: int,
        progress: Callable[[EmbedProgress], None] | None,
        source_args: dict[str, Any] | None,
        model_args: dict[str, Any],
        timings: dict[str, float],
    ) -> None:
        """Hash every image, then embed the unique ones here or on ``engine``."""
        items = self.source.items
        t = time.perf_counter()
        self.keys = hash_items(items, workers, Progress("hashing", len(items), progress))
        timings["hashing"] = time.perf_counter() - t
        t = time.perf_counter()
        prog = Progress("images", len(set(self.keys)), progress)
        job = ImageJob(
            self.loaded,
            items,
            self.keys,
            self.cache,
            batch_size,
            workers,
            prog,
            _strings(source_args),
            model_args,
        )
        self.computed, self.rejected = _run_images(engine, job, engine_name)
        timings["images"] = time.perf_counter() - t

    def embed_texts(
        self,
        dict_names: list[str],
        prompt_spec: Prompt,
        batch_size: int,
        progress: Callable[[EmbedProgress], None] | None,
        timings: dict[str, float],
    ) -> None:
        """The class names' and the dictionary's text embeddings, in that order."""
        t = time.perf_counter()
        names = list(self.source.class_names) + dict_names
        total = len(names) * len(prompt_spec.templates)
        self.text_emb, self.n_text = _embed_prompts(
            self.loaded,
            names,
            prompt_spec,
            self.cache,
            max(batch_size, 64),
            Progress("texts", total, progress),
        )
        self.dict_names = dict_names
        timings["texts"] = time.perf_counter() - t

    def skipped(self) -> list[tuple[str, str]]:
        return _skipped(self.source, self.source.items, self.keys, self.rejected)

    def kept(self) -> list[int]:
        """Positions of the images that were embedded; none is an :class:`EmbedError`."""
        keep = [i for i, k in enumerate(self.keys) if k not in self.rejected]
        if not keep:
            raise EmbedError(
                f"{self.source.spec}: none of the {len(self.keys)} images could be decoded; see the skipped files."
            )
        return keep

    def bundle(self, meta: dict[str, Any]) -> Bundle:
        keep, items, n_cls = self.kept(), self.source.items, len(self.source.class_names)
        text_emb = self.text_emb if self.text_emb is not None else np.zeros((0, 0), np.float32)
        return Bundle(
            image_emb=np.stack([self.cache.get(self.keys[i]) for i in keep]).astype(np.float32),
            image_label=np.array([items[i].label for i in keep], dtype=np.int64),
            image_is_train=np.array([items[i].is_train for i in keep], dtype=bool),
            class_names=list(self.source.class_names),
            class_text_emb=text_emb[:n_cls],
            dict_names=self.dict_names,
            dict_text_emb=text_emb[n_cls:],
            meta=meta,
            image_id=[items[i].image_id for i in keep],
        )

    def fill(self, report: EmbedReport) -> None:
        """The run's counts into ``report``."""
        n_unique = len(set(self.keys))
        report.n_images = len(self.kept())
        report.n_unique = n_unique
        report.n_computed = self.computed
        report.n_from_cache = n_unique - self.computed - len(self.rejected)
        report.n_texts_computed = self.n_text
        report.skipped = self.skipped()
        report.corrupt_cache_shards = len(self.cache.corrupt_shards)
        report.cache_notes = list(self.cache.notes)


def _open(
    data: str | ImageSource,
    data_root: str | os.PathLike | None,
    per_class_limit: int | None,
    confine_to: str | os.PathLike | None,
    class_names: str,
) -> tuple[ImageSource, dict[str, Any] | None]:
    """The source, and the ``open_source`` arguments that reopen it (None for an opened one)."""
    if isinstance(data, ImageSource):
        return data, None
    args = dict(
        spec=data,
        data_root=data_root,
        per_class_limit=per_class_limit,
        confine_to=confine_to,
        class_names=class_names,
    )
    return open_source(data, data_root, per_class_limit, confine_to, class_names), args


def _strings(source_args: dict[str, Any] | None) -> dict[str, Any] | None:
    """``open_source`` arguments an engine can ship elsewhere (paths as strings)."""
    if source_args is None:
        return None
    out = dict(source_args)
    for key in ("data_root", "confine_to"):
        out[key] = None if out[key] is None else str(out[key])
    return out


def embed_images(
    loaded: Any,
    images: Sequence[Any],
    batch_size: int = 32,
    progress: Callable[[EmbedProgress], None] | None = None,
) -> np.ndarray:
    """Embed decoded PIL images (e.g. from :func:`bliss_core.data.images_from_uploads`) with a loaded model."""
    import torch

    from .models import encode_images

    prog = Progress("images", len(images), progress)
    out = []
    for s in range(0, len(images), max(1, batch_size)):
        part = images[s : s + batch_size]
        batch = torch.stack([loaded.preprocess(im) for im in part])
        out.append(encode_images(loaded, batch))
        prog.update(len(part))
    dim = int(getattr(loaded.model, "embed_dim", 0) or 0)
    return np.concatenate(out) if out else np.zeros((0, dim), dtype=np.float32)
