"""``bliss diagnose``: the text clustering statistics as JSON and the paper's figures."""

from __future__ import annotations

import argparse

from .common import add_bliss_arguments, load, resolve_normal, say, whole


def add_parser(sub) -> argparse.ArgumentParser:
    dg = sub.add_parser(
        "diagnose", help="text clustering statistics and the paper's figures (JSON, PNG, HTML)"
    )
    dg.add_argument("--bundle", required=True)
    dg.add_argument("--out", required=True, help="output folder")
    dg.add_argument(
        "--normal",
        default=None,
        help="normal classes for the error-rate figure, by index or name (default: class 0)",
    )
    add_bliss_arguments(dg)
    dg.add_argument(
        "--projection",
        default="tsne,umap",
        help="projections to draw: any of pca,tsne,umap (default tsne,umap)",
    )
    dg.add_argument(
        "--max-points", type=whole, default=3000, help="images sampled for projections (default 3000)"
    )
    dg.set_defaults(func=run)
    return dg


def run(args: argparse.Namespace) -> int:
    from ..analysis.report import write_diagnostics

    bundle = load(args.bundle)
    normal = None if args.normal is None else resolve_normal(args.normal, bundle.class_names)
    written = write_diagnostics(
        bundle,
        args.out,
        normal=normal,
        lam=args.lam,
        topk=args.topk,
        projections=args.projection,
        max_points=args.max_points,
    )
    for path in written:
        say(path)
    return 0
