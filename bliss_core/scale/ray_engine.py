"""``bliss embed --engine ray``: the image step of the embedding pipeline on a Ray Data cluster.

Everything else is :func:`bliss_core.embed.pipeline.embed_dataset`'s own code, run on the
driver: opening the source, hashing every image's content (the cache keys), the class-name and
dictionary prompts, the meta, the splits and writing the bundle. Only the images missing from
the content-keyed cache go through Ray::

    from_items([{"i": position, "key": content hash}, ...])            one row per missing image
      .map_batches(preprocess_batch)      CPU tasks: reopen the source, read, check the hash,
                                          decode, the model's own preprocessing
      .map_batches(EmbedActor, ActorPoolStrategy(size=workers), num_gpus=G)
                                          a pool of model actors, one GPU each when there are any
      .iter_batches()                     the driver, in order: writes each batch to the cache

**Cache strategy: the workers return their embeddings to the driver, which writes the cache.**
Workers need no shared ``BLISS_CACHE_DIR`` and never write to it; an interrupted run keeps
every batch the driver had written, and a rerun (local or Ray) computes only what is missing.
What workers do need: bliss-lab installed (same version), the data at the same path on every
node (a shared filesystem, or identical copies) and the weights file at the same path when
``--pretrained`` is a file. Each actor checks that its model has the driver's cache identity
(model, weights hash, preprocessing, precision) before it embeds anything.

Ray is an optional extra: this module imports ``ray`` only when a :class:`RayEngine` is made,
and without it says, in one line, which extra to install.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from typing import Any

import numpy as np

from ..errors import BlissError, EngineError, ImageRejected, first_line

__all__ = ["RAY_EXTRA", "EmbedActor", "RayEngine", "preprocess_batch", "require_ray"]

#: What to install for ``--engine ray``.
RAY_EXTRA = "pip install bliss-lab[ray]"


def require_ray() -> Any:
    """The ``ray`` module with Ray Data, or :class:`EngineError` naming the extra to install."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise EngineError(
            f"--engine ray needs Ray Data, which is not installed here; install the extra: {RAY_EXTRA}"
        ) from None
    return ray


# ------------------------------------------------------------------------------------------
# what runs on the workers
# ------------------------------------------------------------------------------------------
_WORKER_SOURCES: dict[str, Any] = {}


def _worker_source(source_args: dict[str, Any]) -> Any:
    """The source, opened once per worker process (listing a folder of a million files is the
    expensive part, so it is not repeated per batch)."""
    token = json.dumps(source_args, sort_keys=True)
    src = _WORKER_SOURCES.get(token)
    if src is None:
        from ..embed.sources import open_source

        src = open_source(**source_args)
        _WORKER_SOURCES[token] = src
    return src


def _load_checked(item: Any, key: str) -> Any:
    """The item's decoded image, after checking its content still has the driver's hash."""
    from ..embed.decode import decode_image

    if item._read is not None:
        data = item.read_bytes()
        if hashlib.sha256(data).hexdigest() != key:
            raise ImageRejected(
                item.image_id, "the file changed after it was listed (or differs on this node); rerun"
            )
        return decode_image(data, item.image_id)
    if item.content_key() != key:
        raise ImageRejected(item.image_id, "the image differs from the one the driver listed; rerun")
    return item.load()


def preprocess_batch(
    batch: dict[str, np.ndarray], source_args: dict[str, Any], transform: Any, shape: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """Ray Data CPU task: read, check and preprocess one batch of images.

    Returns ``key``, ``pixels`` (float32, ``shape`` per image; zeros for refused images),
    ``ok`` and ``reason`` (why an image was refused, else empty)."""
    src = _worker_source(source_args)
    n = len(batch["key"])
    pixels = np.zeros((n, *shape), dtype=np.float32)
    ok = np.zeros(n, dtype=bool)
    reasons = [""] * n
    for row, (pos, key) in enumerate(zip(batch["i"], batch["key"])):
        item = src.items[int(pos)]
        try:
            pixels[row] = np.asarray(transform(_load_checked(item, str(key))), dtype=np.float32)
            ok[row] = True
        except ImageRejected as exc:
            reasons[row] = exc.reason
        except Exception as exc:
            reasons[row] = f"preprocessing failed ({type(exc).__name__}: {exc})"
    return {
        "key": np.asarray(batch["key"]),
        "pixels": pixels,
        "ok": ok,
        "reason": np.array(reasons, dtype=object),
    }


class EmbedActor:
    """Ray Data actor: the model, loaded once, on the GPU Ray gave it (or the CPU)."""

    def __init__(self, model_args: dict[str, Any], device: str, identity: dict[str, Any]) -> None:
        import torch

        from ..embed.models import load_model

        torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1") or 1)))
        self.loaded = load_model(device=device, **model_args)
        mine = self.loaded.cache_identity()
        if mine != identity:
            raise EngineError(
                f"a Ray worker's model differs from the driver's ({mine} vs {identity}); check that "
                "every node has the same weights file and versions."
            )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        from ..embed.models import encode_images

        ok = np.asarray(batch["ok"], dtype=bool)
        dim = int(self.loaded.embed_dim or 0)
        emb = np.zeros((len(ok), dim), dtype=np.float32)
        if ok.any():
            with torch.inference_mode():
                out = encode_images(self.loaded, torch.from_numpy(np.ascontiguousarray(batch["pixels"][ok])))
            if emb.shape[1] != out.shape[1]:
                emb = np.zeros((len(ok), out.shape[1]), dtype=np.float32)
            emb[ok] = out
        return {"key": batch["key"], "emb": emb, "ok": ok, "reason": batch["reason"]}


# ------------------------------------------------------------------------------------------
# the driver
# ------------------------------------------------------------------------------------------
class RayEngine:
    """The Ray Data image engine; pass it as ``embed_dataset(..., engine=RayEngine(...))``.

    ``address``: a Ray cluster (``"auto"`` for the one ``ray start --head`` runs on this
    machine, ``ray://host:10001`` for a remote one); None starts a local Ray, unless this
    process is already connected to one (then that one is used). ``workers``: model actors
    (default: one per GPU, or 1 without GPUs). ``gpus_per_worker``: GPUs per actor (default 1
    when the cluster has GPUs, else 0: the model runs on CPU actors).
    """

    name = "ray"

    def __init__(
        self, address: str | None = None, workers: int | None = None, gpus_per_worker: float | None = None
    ) -> None:
        self.ray = require_ray()
        if workers is not None and int(workers) < 1:
            raise EngineError(f"--workers must be at least 1, got {workers}.")
        if gpus_per_worker is not None and not (0 <= float(gpus_per_worker) < 1e6):
            raise EngineError(f"--gpus-per-worker must be a number >= 0, got {gpus_per_worker}.")
        self.address = address
        self.workers = None if workers is None else int(workers)
        self.gpus_per_worker = None if gpus_per_worker is None else float(gpus_per_worker)
        self.last_stats: dict[str, Any] = {}

    # -- connecting ----------------------------------------------------------------------------
    def _connect(self) -> bool:
        """Join or start Ray; True when this call started it (and so shuts it down after)."""
        ray = self.ray
        if ray.is_initialized():
            return False
        try:
            ray.init(
                address=self.address,
                logging_level=logging.WARNING,
                log_to_driver=False,
                include_dashboard=False,
            )
        except Exception as exc:
            where = self.address or "a local Ray"
            raise EngineError(f"cannot start or reach {where} ({first_line(exc, 200)}).") from None
        return True

    def plan(self) -> dict[str, Any]:
        """Workers, GPUs and CPUs per worker for the cluster this process is connected to."""
        res = self.ray.cluster_resources()
        gpus, cpus = float(res.get("GPU", 0.0)), float(res.get("CPU", 1.0))
        g = self.gpus_per_worker if self.gpus_per_worker is not None else (1.0 if gpus >= 1 else 0.0)
        if g > 0 and g > gpus:
            raise EngineError(
                f"--gpus-per-worker {g:g} asks for more GPUs than the Ray cluster has ({gpus:g})."
            )
        n = self.workers or (max(1, int(gpus // g)) if g > 0 else 1)
        # CPU actors really use a CPU each; leave room for the preprocessing tasks
        actor_cpus = 0.5 if g > 0 else max(0.1, min(1.0, (cpus - 0.5) / n))
        return {
            "workers": n,
            "gpus_per_worker": g,
            "actor_cpus": actor_cpus,
            "cluster_cpus": cpus,
            "cluster_gpus": gpus,
            "device": "cuda" if g > 0 else "cpu",
        }

    # -- the image step ------------------------------------------------------------------------
    def embed_images(self, job: Any) -> tuple[int, dict[str, tuple[str, str]]]:
        """Embed the job's images that the cache lacks on Ray; the driver writes the cache."""
        from ..embed.pipeline import check_all_embedded, count_cached, first_positions

        if job.source_args is None:
            raise EngineError(
                "--engine ray needs a data source it can reopen on the workers (a spec such as "
                "folder:PATH or zip:PATH), not an opened source."
            )
        first = first_positions(job.keys)
        unique = list(first)
        missing = count_cached(job.cache, unique, job.progress)
        rejected: dict[str, tuple[str, str]] = {}
        if not missing:
            return 0, rejected
        started = self._connect()
        try:
            computed = self._run(job, [(first[k], k) for k in missing], rejected)
        except BlissError:
            raise
        except Exception as exc:
            cause = getattr(exc, "cause", None) or exc
            if isinstance(cause, BlissError):
                raise type(cause)(str(cause)) from None
            msg = str(cause).strip().splitlines()[-1][:300] if str(cause).strip() else type(cause).__name__
            raise EngineError(
                f"the Ray job failed ({type(cause).__name__}: {msg}); finished batches are cached "
                "and a rerun resumes from them."
            ) from None
        finally:
            if started:
                self.ray.shutdown()
        check_all_embedded(job.cache, unique, rejected)
        return computed, rejected

    def _run(self, job: Any, todo: list[tuple[int, str]], rejected: dict[str, tuple[str, str]]) -> int:
        ray = self.ray
        from ..embed.decode import transform_output_shape
        from ..embed.pipeline import chunk_tag

        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the pipeline's own progress line says it
        ctx.execution_options.preserve_order = True
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        plan = self.plan()
        transform = job.loaded.preprocess
        shape = transform_output_shape(transform)
        precision = job.loaded.precision
        model_args = dict(job.model_args)
        # the workers' numbers must be the driver's: same precision (amp stays amp on a GPU)
        model_args["precision"] = (
            "fp32" if precision == "fp32" else ("auto" if precision.startswith("amp") else precision)
        )
        batch = max(1, int(job.batch_size))
        ds = ray.data.from_items([{"i": int(pos), "key": key} for pos, key in todo])
        ds = ds.map_batches(
            preprocess_batch,
            batch_size=batch,
            batch_format="numpy",
            num_cpus=0.25,
            fn_kwargs={"source_args": job.source_args, "transform": transform, "shape": shape},
        )
        ds = ds.map_batches(
            EmbedActor,
            batch_size=batch,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=plan["workers"]),
            num_gpus=plan["gpus_per_worker"] or None,
            num_cpus=plan["actor_cpus"],
            fn_constructor_kwargs={
                "model_args": model_args,
                "device": plan["device"],
                "identity": job.loaded.cache_identity(),
            },
        )
        computed = 0
        items = job.items
        position = {key: pos for pos, key in todo}
        t0 = time.perf_counter()
        first: tuple[float, int] | None = None
        for out in ds.iter_batches(batch_size=None, batch_format="numpy"):
            if first is None:
                first = (time.perf_counter() - t0, len(out["key"]))
            keys = [str(k) for k in out["key"]]
            ok = np.asarray(out["ok"], dtype=bool)
            good = [k for k, o in zip(keys, ok) if o]
            if good:
                job.cache.put(good, np.asarray(out["emb"])[ok], kind="image", tag=chunk_tag(good))
                computed += len(good)
            for k, o, reason in zip(keys, ok, out["reason"]):
                if not o:
                    rejected[k] = (items[position[k]].image_id, str(reason))
            job.progress.update(len(keys))
        total = time.perf_counter() - t0
        # start-up (Ray, the actors loading the model) against the steady state after it
        self.last_stats = {
            "plan": plan,
            "images": len(todo),
            "pipeline_s": total,
            "first_batch_s": first[0] if first else None,
            "after_first_batch_images_per_s": (
                (len(todo) - first[1]) / (total - first[0]) if first and total > first[0] else None
            ),
        }
        return computed
