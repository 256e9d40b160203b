"""``bliss score``: per-image BLISS scores of a bundle's test images as CSV."""

from __future__ import annotations

import argparse

from ..errors import CommandError
from .common import (
    add_bliss_arguments,
    add_device_argument,
    add_exclude_argument,
    load,
    resolve_normal,
    scoring_backend,
    warn,
    write_csv,
)

HEADER = [
    "index",
    "image_id",
    "label",
    "class_name",
    "is_anomaly",
    "score",
    "internal",
    "external",
    "nearest_normal_class",
]


def add_parser(sub) -> argparse.ArgumentParser:
    sc = sub.add_parser("score", help="write per-image BLISS scores of the test images as CSV")
    sc.add_argument("--bundle", required=True)
    sc.add_argument(
        "--normal", required=True, help="normal classes by index or name, e.g. 0,3 or airplane,cat"
    )
    add_bliss_arguments(sc)
    add_exclude_argument(sc)
    sc.add_argument("--out", required=True, help="CSV file to write (its folder must exist)")
    add_device_argument(sc)
    sc.set_defaults(func=run)
    return sc


def run(args: argparse.Namespace) -> int:
    from ..core.live import PreparedNormalSet

    backend = scoring_backend(args.device)
    bundle = load(args.bundle)
    normal = resolve_normal(args.normal, bundle.class_names)
    if bundle.test_idx.size == 0:
        raise CommandError(f"{args.bundle}: the bundle has no test images to score.")
    prep = PreparedNormalSet(
        bundle,
        normal,
        max_topk=args.topk,
        allow_all_normal=True,
        exclude_normal_names=args.exclude_normal_names,
        backend=backend,
    )
    test = prep.test_idx
    parts = prep.pre.components(args.lam, args.topk)
    normal_set = set(normal)

    def rows():
        for row, i in enumerate(test):
            label = int(bundle.image_label[i])
            yield [
                int(i),
                bundle.image_name(i),
                label,
                bundle.class_names[label],
                int(label not in normal_set),
                round(float(parts["score"][row]), 6),
                round(float(parts["internal"][row]), 6),
                round(float(parts["external"][row]), 6),
                bundle.class_names[int(parts["nearest_class"][row])],
            ]

    out = write_csv(args.out, HEADER, rows())
    warn(f"wrote {len(test)} scores to {out} (higher = more anomalous)")
    return 0
