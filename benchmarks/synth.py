"""Synthetic bundles of any size, streamed to disk in the bundle format (never commit the output).

    python benchmarks/synth.py OUT.npz --test 1000000 --dict 40000 [--dim 512] [--classes 10]
                               [--ref-per-class 1000] [--float32] [--seed 0]

``make_simulated_bundle`` builds everything in memory (and in float64 in places), which is too
slow and too large at a million images; this writes random unit vectors with a class signal
block by block straight into the ``.npz`` (members stored uncompressed, as ``np.savez`` and
:func:`bliss_core.core.bundle.save_bundle` store them), so memory stays a few blocks however
large N is. Images: a class centroid plus noise, normalised; class texts: the centroid plus
noise; dictionary entries: random directions around a shared "text" direction (a text cluster).
The numbers mean nothing beyond having the shapes, dtypes and rough geometry of real bundles;
AUROCs come out between 0.5 and 1. Same arguments, same file.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from bliss_core.files import atomic_write

BLOCK = 65536


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _write_npy(zf: zipfile.ZipFile, name: str, shape: tuple[int, ...], dtype: np.dtype, blocks) -> None:
    """One uncompressed ``.npy`` member, written from an iterator of C-ordered blocks."""
    with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
        np.lib.format.write_array_header_2_0(
            fh,
            {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape},
        )
        for block in blocks:
            fh.write(np.ascontiguousarray(block, dtype=dtype).tobytes())


def _write_small(zf: zipfile.ZipFile, name: str, arr: np.ndarray) -> None:
    with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
        np.lib.format.write_array(fh, np.asarray(arr), allow_pickle=False)


def write_bundle(
    out: str | Path,
    n_test: int,
    n_dict: int,
    dim: int = 512,
    n_classes: int = 10,
    ref_per_class: int = 1000,
    float16: bool = True,
    seed: int = 0,
    signal: float = 0.15,
    image_ids: bool = True,
) -> Path:
    """Write a synthetic bundle: ``n_classes * ref_per_class`` reference images, then ``n_test``
    test images (classes in turn), ``n_dict`` dictionary entries, D = ``dim``."""
    out = Path(out)
    rng = np.random.default_rng(seed)
    centroids = _unit(rng.standard_normal((n_classes, dim)))
    text_dir = _unit(rng.standard_normal((1, dim)))[0]
    class_text = _unit(
        centroids * 0.5 + text_dir * 0.8 + 0.3 * rng.standard_normal((n_classes, dim)) / np.sqrt(dim)
    )
    n_ref = n_classes * ref_per_class
    n = n_ref + n_test
    labels = np.concatenate([np.repeat(np.arange(n_classes), ref_per_class), np.arange(n_test) % n_classes])
    is_train = np.zeros(n, dtype=bool)
    is_train[:n_ref] = True
    dtype = np.float16 if float16 else np.float32

    def image_blocks():
        for start in range(0, n, BLOCK):
            lab = labels[start : start + BLOCK]
            noise = rng.standard_normal((lab.size, dim), dtype=np.float32) / np.float32(np.sqrt(dim))
            yield _unit(signal * centroids[lab].astype(np.float32) + noise)

    def dict_blocks():
        for start in range(0, n_dict, BLOCK):
            m = min(BLOCK, n_dict - start)
            noise = rng.standard_normal((m, dim), dtype=np.float32) / np.float32(np.sqrt(dim))
            yield _unit(0.8 * text_dir.astype(np.float32) + noise)

    meta = {"model": "synthetic (benchmarks/synth.py)", "simulation": True, "seed": seed, "untrained": False}
    with (
        atomic_write(out, "wb", create_parents=True) as fh,
        zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf,
    ):
        _write_npy(zf, "image_emb", (n, dim), dtype, image_blocks())
        _write_small(zf, "image_label", labels.astype(np.int64))
        _write_small(zf, "image_is_train", is_train)
        _write_small(zf, "class_names", np.array([f"class {c}" for c in range(n_classes)]))
        _write_small(zf, "class_text_emb", class_text.astype(np.float32))
        _write_small(zf, "dict_names", np.array([f"entry {j}" for j in range(n_dict)]))
        _write_npy(zf, "dict_text_emb", (n_dict, dim), np.float32, dict_blocks())
        _write_small(zf, "meta", np.array(json.dumps(meta, sort_keys=True)))
        if image_ids:
            _write_small(zf, "image_id", np.array([f"img/{i:07d}.jpg" for i in range(n)]))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--test", type=int, default=20000)
    ap.add_argument("--dict", type=int, default=1860)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--ref-per-class", type=int, default=1000)
    ap.add_argument(
        "--float32", action="store_true", help="store image embeddings as float32 (default float16)"
    )
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    print(write_bundle(a.out, a.test, a.dict, a.dim, a.classes, a.ref_per_class, not a.float32, a.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
