"""Embedding throughput: model forward alone vs the whole ``bliss embed`` image path.

    python benchmarks/bench_embed.py [--models ViT-B-32 ViT-B-16] [--n 128] [--batch-size 32]

Prints one JSON object per model (and a JSON list at the end). Uses random weights (no
download needed) and the CIFAR-10 JPEG archive in ../shared/data. ``run(...)`` returns the
same records for a benchmark suite.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_DATA = (
    f"zip:{Path(os.environ.get('BLISS_SHARED_DATA', REPO.parent / 'shared' / 'data')) / 'cifar10.zip'}"
)


def run(
    models=("ViT-B-32", "ViT-B-16"),
    n_images: int = 128,
    batch_size: int = 32,
    data: str = DEFAULT_DATA,
    workers: int | None = None,
    device: str = "cpu",
) -> list[dict]:
    """Measure each model; return a list of dicts with forward-only and end-to-end images/s."""
    from throughput import measure_throughput

    out = []
    for m in models:
        rec = measure_throughput(
            model=m,
            data=data,
            n_images=n_images,
            batch_size=batch_size,
            workers=workers,
            device=device,
            pretrained="random",
        )
        print(json.dumps(rec), flush=True)
        out.append(rec)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["ViT-B-32", "ViT-B-16"])
    ap.add_argument("--n", type=int, default=128, help="images per measurement")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    res = run(a.models, a.n, a.batch_size, a.data, a.workers, a.device)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
