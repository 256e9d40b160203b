"""Generate a synthetic CIFAR-10-sized bundle for the benchmarks (never commit the output).

    python benchmarks/make_bundle.py OUT.npz [--train-per-class 5000] [--test-per-class 1000]
                                             [--dim 512] [--n-dict 1860] [--float16]

Defaults are CIFAR-10's real sizes: 50,000 reference + 10,000 test images, D = 512 and the
1,860-entry ImageNet dictionary. Same seed, same file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bliss_core.core.bundle import save_bundle
from bliss_core.core.simulate import make_simulated_bundle


def make(
    out: str | Path,
    train_per_class: int = 5000,
    test_per_class: int = 1000,
    dim: int = 512,
    n_dict: int = 1860,
    float16: bool = False,
    seed: int = 0,
) -> Path:
    bundle = make_simulated_bundle(
        train_per_class=train_per_class, test_per_class=test_per_class, dim=dim, n_dict=n_dict, seed=seed
    )
    return save_bundle(bundle, out, float16=float16)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--train-per-class", type=int, default=5000)
    ap.add_argument("--test-per-class", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--n-dict", type=int, default=1860)
    ap.add_argument("--float16", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    path = make(a.out, a.train_per_class, a.test_per_class, a.dim, a.n_dict, a.float16, a.seed)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
