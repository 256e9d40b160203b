"""The ``bliss`` command: embed, evaluate, score, diagnose.

Every user error prints one line, ``bliss: error: ...``, on stderr and exits with status 2;
tracebacks are reserved for bugs (and then the command says so).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Sequence

EXIT_USAGE = 2


class CommandError(Exception):
    """A user-facing error; its message is printed as one line."""


def _floats(text: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _ints(text: str) -> list[int]:
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
    if any(v != int(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected whole numbers, got {text!r}")
    return [int(v) for v in values]


def _load(path: str):
    from .bundle import load_bundle

    return load_bundle(path)


def _resolve_splits(args, bundle) -> tuple[list[list[int]], str | None]:
    from .splits import canonical_setup, parse_normal_sets, setup_splits

    if args.setup:
        return setup_splits(args.setup, len(bundle.class_names)), canonical_setup(args.setup)
    return parse_normal_sets(args.normal_sets), None


def cmd_evaluate(args) -> int:
    from .evaluate import evaluate, format_table

    bundle = _load(args.bundle)
    splits, setup = _resolve_splits(args, bundle)
    if args.method != "bliss" and not args.json and (len(args.lam) > 1 or len(args.topk) > 1):
        print(f"note: {args.method} ignores lambda and K; showing it once.", file=sys.stderr)
    result = evaluate(bundle, splits, args.lam, args.topk, method=args.method, setup=setup, knn_k=args.knn_k)
    result["bundle"] = {"path": str(args.bundle), "untrained": bundle.untrained, "simulation": bundle.is_simulation}
    if args.json:
        print(json.dumps(result))
    else:
        if bundle.untrained:
            print("WARNING: this bundle was made with an UNTRAINED (random-weight) model; its numbers mean nothing.")
        if args.method != "bliss":
            result = {**result, "results": result["results"][:1]}
        print(format_table(result))
    return 0


def cmd_score(args) -> int:
    import numpy as np

    from .atomic import atomic_write
    from .scoring import BlissScorer
    from .splits import validate_splits

    bundle = _load(args.bundle)
    normal = validate_splits([args.normal], bundle.class_names)[0]
    scorer = BlissScorer(lam=args.lam, topk=args.topk).fit_bundle(bundle, normal)
    missing = [c for c in normal if c not in set(scorer.classes_.tolist())]
    if missing:
        raise CommandError(f"normal class {missing[0]} has no reference (training) images in the bundle.")
    test = np.flatnonzero(~bundle.image_is_train)
    if test.size == 0:
        raise CommandError(f"{args.bundle}: the bundle has no test images to score.")
    parts = scorer.precompute(bundle.image_emb[test], max_topk=args.topk).components(args.lam, args.topk)
    out = Path(args.out)
    with atomic_write(out, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["index", "image_id", "label", "class_name", "is_anomaly", "score", "internal", "external", "nearest_normal_class"])
        ids = bundle.image_id or [str(i) for i in range(len(bundle.image_label))]
        normal_set = set(normal)
        for row, i in enumerate(test):
            label = int(bundle.image_label[i])
            writer.writerow([
                int(i), ids[i], label, bundle.class_names[label], int(label not in normal_set),
                f"{parts['score'][row]:.6f}", f"{parts['internal'][row]:.6f}", f"{parts['external'][row]:.6f}",
                bundle.class_names[int(parts["nearest_class"][row])],
            ])
    print(f"wrote {len(test)} scores to {out} (higher = more anomalous)", file=sys.stderr)
    return 0


def cmd_diagnose(args) -> int:
    from .report import write_diagnostics

    bundle = _load(args.bundle)
    normal = None
    if args.normal is not None:
        from .splits import validate_splits

        normal = validate_splits([args.normal], bundle.class_names)[0]
    written = write_diagnostics(
        bundle, args.out, normal=normal, lam=args.lam, topk=args.topk, projections=args.projection, max_points=args.max_points
    )
    for path in written:
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bliss",
        description="Measure and correct the text clustering effect of CLIP-like models; BLISS anomaly scoring.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    try:
        from .cli_embed import add_embed_parser
    except ImportError:  # pragma: no cover - the embedding extra is missing
        add_embed_parser = None
    if add_embed_parser is not None:
        add_embed_parser(sub)

    ev = sub.add_parser("evaluate", help="AUROC over the protocol's splits for a grid of lambda and K")
    ev.add_argument("--bundle", required=True, help="embedding bundle (.npz)")
    grp = ev.add_mutually_exclusive_group(required=True)
    grp.add_argument("--setup", help="one-class | leave-one-out | cifar10-zoc | cifar100-20 | tinyimagenet-cac (or 1, 6, 9)")
    grp.add_argument("--normal-sets", help="splits by class index, e.g. '0,1;2;3,4'")
    ev.add_argument("--lam", type=_floats, default=[0.5], help="lambda value(s), comma-separated (default 0.5)")
    ev.add_argument("--topk", type=_ints, default=[10], help="K value(s), comma-separated (default 10)")
    ev.add_argument("--method", choices=["bliss", "maxsim", "knn", "mcm"], default="bliss")
    ev.add_argument("--knn-k", type=int, default=5, help="neighbours for --method knn (default 5)")
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ev.set_defaults(func=cmd_evaluate)

    sc = sub.add_parser("score", help="write per-image BLISS scores of the test images as CSV")
    sc.add_argument("--bundle", required=True)
    sc.add_argument("--normal", required=True, type=_ints, help="normal class indices, e.g. 0,3")
    sc.add_argument("--lam", type=float, default=0.5)
    sc.add_argument("--topk", type=int, default=10)
    sc.add_argument("--out", required=True, help="CSV file to write")
    sc.set_defaults(func=cmd_score)

    dg = sub.add_parser("diagnose", help="text clustering statistics and the paper's figures (JSON, PNG, HTML)")
    dg.add_argument("--bundle", required=True)
    dg.add_argument("--out", required=True, help="output folder")
    dg.add_argument("--normal", type=_ints, default=None, help="normal classes for the error-rate figure (default: class 0)")
    dg.add_argument("--lam", type=float, default=0.5)
    dg.add_argument("--topk", type=int, default=10)
    dg.add_argument("--projection", default="tsne,umap", help="projections to draw: any of pca,tsne,umap (default tsne,umap)")
    dg.add_argument("--max-points", type=int, default=3000, help="images sampled for projections (default 3000)")
    dg.set_defaults(func=cmd_diagnose)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    from .bundle import BundleError
    from .evaluate import EvaluationError
    from .metrics import MetricError
    from .scoring import ScoringError
    from .splits import SplitError

    errors: list[type[BaseException]] = [CommandError, BundleError, EvaluationError, MetricError, ScoringError, SplitError]
    for mod, name in (("bliss_core.models", "ModelLoadError"), ("bliss_core.data", "DataError")):
        module = sys.modules.get(mod)
        if module is not None and hasattr(module, name):
            errors.append(getattr(module, name))
    return tuple(errors)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("bliss: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - turn user errors into one line
        if isinstance(exc, _user_errors()) or isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"bliss: error: {msg}", file=sys.stderr)
            return EXIT_USAGE
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
