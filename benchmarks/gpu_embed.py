"""GPU embedding throughput: ViT-B-32 and ViT-B-16 over the full CIFAR-10 test set, in one go.

    python benchmarks/gpu_embed.py [--data ../shared/data/cifar10.zip] [--models ViT-B-32 ViT-B-16]
                                   [--batch-size 512] [--workers N] [--precision fp16|bf16|fp32]
                                   [--limit N] [--out benchmarks/results/gpu-embed.json]
    python benchmarks/gpu_embed.py --device cpu      # smoke: 16 images, ViT-B-32, fp32, on CPU (CI)

Meant for a machine with a CUDA GPU (written for one H200 session; not run where no
accelerator is lent). ``--device cpu`` runs the same code end to end on the CPU with small
defaults (``--limit 16 --batch-size 8 --workers 0 --forward-batches 1 --precision fp32``,
ViT-B-32), so CI can check the script before an accelerator is spent on it; a model may also
be an open_clip config file (``tiny.json``). For each model it measures

* ``forward_only``: model.encode_image on preprocessed batches already on the GPU
  (autocast mixed precision, channels_last, torch.inference_mode), after warm-up, with
  torch.cuda.synchronize around the timed loop: the model's ceiling;
* ``end_to_end``: JPEG bytes read from the zip -> PIL decode -> the model's own
  preprocessing in a DataLoader worker pool (``--workers``, default all cores) -> pinned
  memory -> non_blocking copy -> forward -> L2-normalised float32 embeddings on the host,
  for the whole test set (10,000 images): what ``bliss embed`` could reach.

Weights are random (``pretrained=None``): these machines reach no model hub, and throughput
does not depend on the weights' values. Prints one JSON object per model and writes all of
them to ``--out``. Standalone: needs torch, open_clip and pillow, not bliss_core.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ZIP = Path(os.environ.get("BLISS_SHARED_DATA", REPO.parent / "shared" / "data")) / "cifar10.zip"


class ZipImages:
    """The test split of a class-folder zip (``*/test/<class>/*.jpg``), decoded on access."""

    def __init__(self, path: Path, transform, split: str = "test", limit: int | None = None):
        self.path, self.transform = str(path), transform
        with zipfile.ZipFile(self.path) as zf:
            names = sorted(
                n
                for n in zf.namelist()
                if f"/{split}/" in n and n.lower().endswith((".jpg", ".jpeg", ".png"))
            )
        classes = sorted({n.split("/")[-2] for n in names})
        self.items = [(n, classes.index(n.split("/")[-2])) for n in names][: limit or None]
        self._zf = None  # one handle per worker process, opened lazily

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        from PIL import Image

        if self._zf is None:
            self._zf = zipfile.ZipFile(self.path)
        name, label = self.items[i]
        img = Image.open(io.BytesIO(self._zf.read(name))).convert("RGB")
        return self.transform(img), label


def _sync(dev) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize()


def bench_model(
    name: str,
    data: Path,
    batch_size: int,
    workers: int,
    precision: str,
    limit: int | None,
    forward_batches: int,
    device: str = "cuda",
) -> dict:
    import open_clip
    import torch

    dev = torch.device(device)
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[precision]
    if name.endswith(".json"):  # an open_clip config file (the tests' tiny model)
        open_clip.add_model_config(name)
        name = Path(name).stem
    t0 = time.perf_counter()
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=None)
    model = model.to(dev).eval().to(memory_format=torch.channels_last)
    load_s = time.perf_counter() - t0
    size = model.visual.image_size
    size = size if isinstance(size, (tuple, list)) else (size, size)
    rec: dict = {
        "model": name,
        "precision": precision,
        "batch_size": batch_size,
        "workers": workers,
        "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else f"cpu ({os.cpu_count()} cores)",
        "torch": torch.__version__,
        "model_load_s": load_s,
        "weights": "random (pretrained=None)",
    }

    def forward(x):
        with torch.inference_mode(), torch.autocast(dev.type, dtype=dtype, enabled=precision != "fp32"):
            f = model.encode_image(x)
            return torch.nn.functional.normalize(f.float(), dim=-1)

    # forward only: synthetic preprocessed batches resident on the GPU
    x = torch.randn(batch_size, 3, *size, device=dev).to(memory_format=torch.channels_last)
    for _ in range(3 if dev.type == "cuda" else 1):
        forward(x)
    _sync(dev)
    t = time.perf_counter()
    for _ in range(forward_batches):
        forward(x)
    _sync(dev)
    fwd = time.perf_counter() - t
    rec["forward_only_images_per_s"] = forward_batches * batch_size / fwd

    # end to end over the test set
    ds = ZipImages(data, preprocess, "test", limit)
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=batch_size,
        num_workers=workers,
        pin_memory=dev.type == "cuda",
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
    )
    _sync(dev)
    t = time.perf_counter()
    out, n = [], 0
    first_batch_s = None
    for imgs, _labels in loader:
        imgs = imgs.to(dev, non_blocking=True).to(memory_format=torch.channels_last)
        out.append(forward(imgs).cpu())
        n += imgs.shape[0]
        if first_batch_s is None:
            first_batch_s = time.perf_counter() - t
    _sync(dev)
    e2e = time.perf_counter() - t
    emb = torch.cat(out)
    rec.update(
        n_images=n,
        end_to_end_s=e2e,
        end_to_end_images_per_s=n / e2e,
        first_batch_s=first_batch_s,
        embedding_dim=int(emb.shape[1]),
        finite=bool(torch.isfinite(emb).all()),
        unit_norm=bool(torch.allclose(emb.norm(dim=1), torch.ones(n), atol=1e-4)),
    )
    if dev.type == "cuda":
        rec["peak_gpu_mem_gib"] = torch.cuda.max_memory_allocated() / 1024**3
        torch.cuda.reset_peak_memory_stats()
    return rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--device", default="cuda", help="cuda (default) or cpu (a smoke run with small defaults)"
    )
    ap.add_argument("--data", type=Path, default=DEFAULT_ZIP)
    ap.add_argument(
        "--models", nargs="+", default=None, help="default ViT-B-32 ViT-B-16 (ViT-B-32 with --device cpu)"
    )
    ap.add_argument("--batch-size", type=int, default=None, help="default 512 (8 with --device cpu)")
    ap.add_argument("--workers", type=int, default=None, help="default all cores (0 with --device cpu)")
    ap.add_argument(
        "--precision", choices=["fp16", "bf16", "fp32"], default=None, help="default fp16 (fp32 on cpu)"
    )
    ap.add_argument(
        "--limit", type=int, default=None, help="only the first N test images (default all; 16 on cpu)"
    )
    ap.add_argument("--forward-batches", type=int, default=None, help="default 20 (1 on cpu)")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    import torch

    cpu = a.device == "cpu"
    models = a.models or (["ViT-B-32"] if cpu else ["ViT-B-32", "ViT-B-16"])
    batch_size = a.batch_size or (8 if cpu else 512)
    workers = a.workers if a.workers is not None else (0 if cpu else os.cpu_count() or 4)
    precision = a.precision or ("fp32" if cpu else "fp16")
    limit = a.limit if a.limit is not None else (16 if cpu else None)
    forward_batches = a.forward_batches or (1 if cpu else 20)
    out = a.out or REPO / "benchmarks" / "results" / ("gpu-embed-smoke.json" if cpu else "gpu-embed.json")
    if not cpu and not torch.cuda.is_available():
        print(
            "gpu_embed: no CUDA device; nothing measured (use --device cpu for the smoke run).",
            file=sys.stderr,
        )
        return 2
    if not a.data.exists():
        print(f"gpu_embed: {a.data} not found (the CIFAR-10 JPEG zip).", file=sys.stderr)
        return 2
    if not cpu:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
    recs = []
    for m in models:
        rec = bench_model(m, a.data, batch_size, workers, precision, limit, forward_batches, a.device)
        print(json.dumps(rec), flush=True)
        recs.append(rec)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(recs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
