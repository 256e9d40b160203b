"""``bliss evaluate``: the paper's protocol, AUROC over splits for a grid of lambda and K."""

from __future__ import annotations

import argparse
import json
import sys

from ..core.evaluate import METHODS
from ..core.scorers.checks import DEFAULT_LAMBDA, DEFAULT_TOPK
from ..core.text import printable
from ..errors import CommandError
from .common import (
    add_device_argument,
    add_exclude_argument,
    add_method_arguments,
    add_split_arguments,
    load,
    method_options,
    number_list,
    resolve_splits,
    scoring_backend,
    whole,
    whole_list,
)


def add_parser(sub) -> argparse.ArgumentParser:
    ev = sub.add_parser("evaluate", help="AUROC over the protocol's splits for a grid of lambda and K")
    ev.add_argument("--bundle", required=True, help="embedding bundle (.npz)")
    add_split_arguments(ev)
    ev.add_argument(
        "--lam",
        type=number_list,
        default=[DEFAULT_LAMBDA],
        help=f"lambda value(s), comma-separated (default {DEFAULT_LAMBDA:g})",
    )
    ev.add_argument(
        "--topk",
        type=whole_list,
        default=[DEFAULT_TOPK],
        help=f"K value(s), comma-separated (default {DEFAULT_TOPK})",
    )
    ev.add_argument(
        "--method",
        choices=[*METHODS, "all"],
        default="bliss",
        help="the score to evaluate (default bliss); all: every method side by side, one table "
        "(--setup may then list several setups, comma-separated)",
    )
    ev.add_argument("--knn-k", type=whole, default=5, help="neighbours for --method knn (default 5)")
    add_method_arguments(ev)
    add_exclude_argument(ev)
    ev.add_argument(
        "--shots",
        type=whole,
        default=None,
        metavar="N",
        help="N reference images per normal class, drawn at random per seed (all of a smaller class)",
    )
    ev.add_argument(
        "--seeds",
        type=whole,
        default=1,
        metavar="S",
        help="with --shots: S random draws (seeds 0..S-1); AUROC is averaged over them (default 1)",
    )
    add_device_argument(ev)
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ev.set_defaults(func=run)
    return ev


def run(args: argparse.Namespace) -> int:
    from ..core.evaluate import evaluate, format_table

    if args.seeds != 1 and args.shots is None:  # before loading: the arguments alone decide it
        raise CommandError("--seeds draws reference images at random, so it needs --shots N.")
    backend = scoring_backend(args.device)  # before loading: a missing GPU is said at once
    bundle = load(args.bundle)
    if args.method == "all":
        return _run_all(args, bundle, backend)
    splits, setup = resolve_splits(args, bundle.class_names)
    if args.method != "bliss" and not args.json and (len(args.lam) > 1 or len(args.topk) > 1):
        print(f"note: {args.method} ignores lambda and K; showing it once.", file=sys.stderr)
    result = evaluate(
        bundle,
        splits,
        args.lam,
        args.topk,
        method=args.method,
        setup=setup,
        exclude_normal_names=args.exclude_normal_names,
        shots=args.shots,
        seeds=args.seeds,
        backend=backend,
        options=method_options(args),
    )
    if args.method != "bliss" and not args.json:
        result = {**result, "results": result["results"][:1]}
    return _print(args, bundle, result, format_table)


def _run_all(args: argparse.Namespace, bundle, backend) -> int:
    """``--method all``: every method on each setup of ``--setup`` (comma-separated) or on
    ``--normal-sets``, one table."""
    from ..core.research import evaluate_all, format_research_table

    if len(args.lam) > 1 or len(args.topk) > 1:
        raise CommandError("--method all takes one lambda and one K.")
    names = [t.strip() for t in args.setup.split(",") if t.strip()] if args.setup else [None]
    setups = []
    for name in names:
        splits, setup = resolve_splits(
            argparse.Namespace(setup=name, normal_sets=args.normal_sets), bundle.class_names
        )
        setups.append((setup, splits))
    result = evaluate_all(
        bundle,
        setups,
        args.lam[0],
        args.topk[0],
        exclude_normal_names=args.exclude_normal_names,
        shots=args.shots,
        seeds=args.seeds,
        backend=backend,
        options=method_options(args),
    )
    return _print(args, bundle, result, format_research_table)


def _print(args: argparse.Namespace, bundle, result: dict, table) -> int:
    result["bundle"] = {
        "path": str(args.bundle),
        "untrained": bundle.untrained,
        "simulation": bundle.is_simulation,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    if bundle.untrained:
        print(
            "WARNING: this bundle was made with an UNTRAINED (random-weight) model; its numbers mean nothing."
        )
    print("\n".join(printable(line) for line in table(result, bundle.class_names).splitlines()))
    return 0
