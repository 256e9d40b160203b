"""Embedding throughput: the model alone against the whole ``bliss embed`` image path.

:func:`measure_throughput` times forward passes on preprocessed tensors and the pipeline's
hash / read / decode / preprocess / forward / cache-write path on the same images, alternately,
so load from other processes hits both alike. ``bench_embed.py`` and ``run.py`` call it.
"""

from __future__ import annotations

import os
import time
from typing import Any

from bliss_core.embed.cache import EmbeddingCache
from bliss_core.embed.pipeline import _default_workers, _embed_items, _hash_items, _Progress
from bliss_core.embed.sources import open_source


def measure_throughput(
    model: str = "ViT-B-32",
    data: str = "zip:../shared/data/cifar10.zip",
    n_images: int = 128,
    batch_size: int = 32,
    workers: int | None = None,
    device: str = "cpu",
    pretrained: str = "random",
    loaded: Any | None = None,
    repeats: int = 2,
) -> dict[str, Any]:
    """Images/s of the model alone (forward on preprocessed tensors) vs the embed image stage.

    The end-to-end figure covers hashing, reading, decoding, preprocessing, forward and
    cache writes into a fresh cache, i.e. everything ``bliss embed`` does per image (model
    loading and the one-off text embedding excluded). The model is warmed up with one batch;
    both figures use the same images and batch size, are measured alternately ``repeats``
    times, and the best of each is reported, which damps noise from other processes. The
    ``*_per_cpu_s`` figures divide by this process's CPU time instead of wall time, so they
    stay comparable when other work shares the cores.
    """
    import tempfile

    import torch

    from bliss_core.embed.models import encode_images, load_model

    if loaded is None:
        loaded = load_model(model, pretrained, device=device)
    per_class = max(1, -(-n_images // 20))
    src = open_source(data, per_class_limit=per_class)
    items = src.items[:n_images]
    w = _default_workers() if workers is None else workers
    tensors = torch.stack([loaded.preprocess(it.load()) for it in items])
    encode_images(loaded, tensors[:batch_size])  # warm-up
    fwd_runs: list[float] = []
    e2e_runs: list[float] = []
    fwd_cpu: list[float] = []
    e2e_cpu: list[float] = []
    for _ in range(max(1, repeats)):
        t, c = time.perf_counter(), time.process_time()
        for s in range(0, len(items), batch_size):
            encode_images(loaded, tensors[s : s + batch_size])
        fwd_runs.append(len(items) / (time.perf_counter() - t))
        fwd_cpu.append(len(items) / (time.process_time() - c))
        with tempfile.TemporaryDirectory() as tmp:
            cache = EmbeddingCache(loaded.cache_identity(), tmp)
            for it in items:
                it._key = None  # hash again, as a fresh run would
            t, c = time.perf_counter(), time.process_time()
            keys = _hash_items(items, w, _Progress("hashing", len(items), None))
            with torch.inference_mode():
                computed, _ = _embed_items(
                    loaded, items, keys, cache, batch_size, w, _Progress("images", len(items), None)
                )
            e2e_runs.append(computed / (time.perf_counter() - t))
            e2e_cpu.append(computed / (time.process_time() - c))
    src.close()
    fwd, e2e = max(fwd_runs), max(e2e_runs)
    return {
        "model": loaded.meta["model"],
        "device": loaded.device,
        "batch_size": batch_size,
        "n_images": len(items),
        "torch_threads": torch.get_num_threads(),
        "decode_workers": w,
        "forward_only_images_per_s": round(fwd, 3),
        "end_to_end_images_per_s": round(e2e, 3),
        "ratio": round(e2e / fwd, 4) if fwd else None,
        "runs": {
            "forward_only": [round(x, 3) for x in fwd_runs],
            "end_to_end": [round(x, 3) for x in e2e_runs],
        },
        # images per CPU-second of this process: insensitive to other processes sharing the cores
        "forward_only_images_per_cpu_s": round(max(fwd_cpu), 3),
        "end_to_end_images_per_cpu_s": round(max(e2e_cpu), 3),
        "cpu_ratio": round(max(e2e_cpu) / max(fwd_cpu), 4),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
