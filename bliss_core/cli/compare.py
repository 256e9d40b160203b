"""``bliss compare``: several bundles side by side (models, prompts, dictionaries).

One row per bundle: its clustering statistics, the mean AUROC over the splits of the internal
score, BLISS, max-sim and kNN, and the best (lambda, K) on a grid
(:mod:`bliss_core.core.compare`). ``--json`` prints ``{"setup", "lam", "topk", "bundles"}``;
``--out DIR`` writes the HTML report (:mod:`bliss_core.analysis.compare_report`) and a CSV.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.text import printable, shorten
from .common import (
    add_bliss_arguments,
    add_device_argument,
    add_exclude_argument,
    add_split_arguments,
    load,
    resolve_splits,
    say,
    scoring_backend,
    warn,
    whole,
    write_csv,
)

CSV_HEADER = [
    "name",
    "path",
    "model",
    "weights",
    "prompt",
    "dictionary",
    "untrained",
    "simulation",
    "text_text",
    "image_image",
    "image_text",
    "modality_gap",
    "auroc_internal",
    "auroc_bliss",
    "auroc_maxsim",
    "auroc_knn",
    "best_lam",
    "best_topk",
    "best_auroc",
]


def add_parser(sub) -> argparse.ArgumentParser:
    cp = sub.add_parser(
        "compare",
        help="compare bundles side by side: clustering statistics and AUROCs",
        description="Compare bundles (other models, prompts or dictionaries) on the same splits.",
    )
    cp.add_argument("bundles", nargs="+", metavar="BUNDLE.npz", help="bundles to compare (a file may repeat)")
    add_split_arguments(cp)
    add_bliss_arguments(cp)
    cp.add_argument("--knn-k", type=whole, default=5, help="neighbours of the kNN baseline (default 5)")
    add_exclude_argument(cp)
    cp.add_argument(
        "--json",
        action="store_true",
        help='print {"setup", "lam", "topk", "bundles": [...]} instead of a table',
    )
    cp.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="also write compare.html (+ plotly.min.js), compare.json and compare.csv into DIR",
    )
    cp.add_argument(
        "--projection",
        default="tsne",
        choices=["pca", "tsne", "umap"],
        help="projection of the report's small multiples (default tsne)",
    )
    cp.add_argument(
        "--max-points", type=whole, default=1000, help="images sampled per projection (default 1000)"
    )
    add_device_argument(cp)
    cp.set_defaults(func=run)
    return cp


def _table(result: dict) -> str:
    lines = [
        f"setup: {result['setup'] or 'custom'}   BLISS at lambda={result['lam']:g}, K={result['topk']}   "
        "(AUROC in percent, mean over splits)",
        "",
    ]
    head = (
        f"{'bundle':<24} {'text-text':>9} {'img-img':>8} {'img-text':>8} {'gap':>6}  "
        f"{'internal':>8} {'BLISS':>6} {'gain':>6} {'maxsim':>6} {'kNN':>6}  best (lambda, K, AUROC)"
    )
    lines.append(head)
    for row in result["bundles"]:
        c, a, b = row["clustering"], row["auroc"], row["best"]
        name = shorten(printable(row["name"]), 24)
        lines.append(
            f"{name:<24} {c['text_text']:9.3f} {c['image_image']:8.3f} {c['image_text']:8.3f} {c['modality_gap']:6.3f}  "
            f"{100 * a['internal']:8.1f} {100 * a['bliss']:6.1f} {100 * (a['bliss'] - a['internal']):+6.1f} "
            f"{100 * a['maxsim']:6.1f} {100 * a['knn']:6.1f}  ({b['lam']:g}, {b['topk']}, {100 * b['auroc']:.1f})"
        )
    lines.append("")
    for row in result["bundles"]:
        m = row["meta"]
        what = ", ".join(
            f"{k} {printable(m[k])}"
            for k in ("model", "weights", "prompt", "dictionary")
            if m.get(k) not in (None, "")
        )
        flag = (
            " [UNTRAINED: random weights]"
            if row["untrained"]
            else (" [SIMULATION]" if row["simulation"] else "")
        )
        lines.append(f"{shorten(printable(row['name']), 24)}: {what or 'no model recorded'}{flag}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..core.compare import compare_bundles

    out = None
    if args.out is not None:
        from ..analysis.htmlfiles import output_folder

        out = output_folder(args.out)  # before any work
    backend = scoring_backend(args.device)  # a missing GPU is an error before any bundle is read
    named, bundles, setup = [], [], None
    for path in args.bundles:
        bundle = load(path)
        splits, setup = resolve_splits(args, bundle.class_names)
        named.append((Path(path).stem, str(path), bundle, splits))
        bundles.append(bundle)
    result = compare_bundles(
        named,
        args.lam,
        args.topk,
        setup=setup,
        exclude_normal_names=args.exclude_normal_names,
        knn_k=args.knn_k,
        backend=backend,
    )
    if args.json:
        print(json.dumps(result))
    else:
        say(_table(result))
        if any(r["untrained"] for r in result["bundles"]):
            say(
                "WARNING: bundles marked UNTRAINED come from random-weight models; their numbers mean nothing."
            )
    if out is not None:
        from ..analysis.compare_report import write_compare_report

        written = write_compare_report(
            result, bundles, out, projection=args.projection, max_points=args.max_points
        )
        written.append(write_csv(out / "compare.csv", CSV_HEADER, (_csv_row(r) for r in result["bundles"])))
        for path in written:
            warn(f"wrote {path}")
    return 0


def _csv_row(row: dict) -> list:
    m, c, a, b = row["meta"], row["clustering"], row["auroc"], row["best"]
    return [
        row["name"],
        row["path"],
        m.get("model"),
        m.get("weights"),
        m.get("prompt"),
        m.get("dictionary"),
        int(row["untrained"]),
        int(row["simulation"]),
        c["text_text"],
        c["image_image"],
        c["image_text"],
        c["modality_gap"],
        a["internal"],
        a["bliss"],
        a["maxsim"],
        a["knn"],
        b["lam"],
        b["topk"],
        b["auroc"],
    ]
