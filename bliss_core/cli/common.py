"""What every ``bliss`` sub-command shares: argument types, loading a bundle, naming classes,
writing CSV and printing to a terminal safely.

Every user error is a :class:`~bliss_core.errors.BlissError`; :func:`bliss_core.cli.main`
prints it as one line, ``bliss: error: ...``, and exits with status 2.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..core.text import csv_row, printable
from ..files import atomic_write

__all__ = [
    "add_bliss_arguments",
    "add_device_argument",
    "add_exclude_argument",
    "add_method_arguments",
    "add_split_arguments",
    "finite",
    "join_signed_values",
    "load",
    "method_options",
    "number_list",
    "resolve_normal",
    "resolve_splits",
    "say",
    "scoring_backend",
    "warn",
    "whole",
    "whole_list",
    "write_csv",
]


def finite(text: str) -> float:
    """An argparse type: a finite number (``inf``, ``nan`` and ``1e400`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def whole(text: str) -> int:
    """An argparse type: a whole number (``10`` or ``1e1``; never ``inf`` or ``1e400``)."""
    value = finite(text)
    if value != int(value):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(value)


def positive_whole(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    value = whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def natural(text: str) -> int:
    """An argparse type: a whole number >= 0."""
    value = whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


#: Flags whose value may be negative: ``--gap-delta -1e-3`` is read as ``--gap-delta=-1e-3``
#: (argparse takes ``-1e-3`` for an option otherwise).
SIGNED_FLAGS = ("--gap-delta",)


def join_signed_values(argv: Sequence[str]) -> list[str]:
    """``argv`` with each :data:`SIGNED_FLAGS` flag joined to its value by ``=``."""
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg in SIGNED_FLAGS:
            value = next(it, None)
            out.append(arg if value is None else f"{arg}={value}")
        else:
            out.append(arg)
    return out


def number_list(text: str) -> list[float]:
    """An argparse type: comma-separated finite numbers."""
    return [finite(t.strip()) for t in text.split(",") if t.strip()]


def whole_list(text: str) -> list[int]:
    """An argparse type: comma-separated whole numbers."""
    return [whole(t.strip()) for t in text.split(",") if t.strip()]


def say(*parts: Any) -> None:
    """Print to stdout; strings that come from data are passed through :func:`printable` by callers."""
    print(*parts)


def warn(message: str) -> None:
    """``bliss: <message>`` on stderr, control characters escaped."""
    print(f"bliss: {printable(message)}", file=sys.stderr, flush=True)


def load(path: str, *, mmap: bool | None = None):
    """The bundle at ``path`` (checked against the memory available; its image embeddings
    memory-mapped when large, see ``BLISS_MMAP_MB``)."""
    from ..core.bundle import load_bundle

    return load_bundle(path, mmap=mmap)


def resolve_normal(text: str, class_names: Sequence[str]) -> list[int]:
    """``--normal``: class indices or names (``0,3`` or ``airplane,cat``)."""
    from ..core.splits import parse_classes, validate_splits

    return validate_splits([parse_classes(text, class_names)], class_names)[0]


def add_split_arguments(parser: argparse.ArgumentParser) -> None:
    """``--setup`` or ``--normal-sets`` (one of them is required)."""
    grp = parser.add_mutually_exclusive_group(required=True)
    grp.add_argument(
        "--setup",
        help="one-class | leave-one-out | cifar10-zoc | cifar100-20 | tinyimagenet-cac (or 1, 6, 9)",
    )
    grp.add_argument(
        "--normal-sets",
        metavar="SETS",
        help="splits by class index or name, e.g. '0,1;2' or 'airplane;cat,dog'",
    )


def resolve_splits(
    args: argparse.Namespace, class_names: Sequence[str]
) -> tuple[list[list[int]], str | None]:
    """The splits named by ``--setup`` or ``--normal-sets``, and the canonical setup name."""
    from ..core.splits import canonical_setup, parse_normal_sets, setup_splits

    if args.setup:
        return setup_splits(args.setup, len(class_names)), canonical_setup(args.setup)
    return parse_normal_sets(args.normal_sets, class_names), None


def add_bliss_arguments(parser: argparse.ArgumentParser) -> None:
    """``--lam`` and ``--topk``: one BLISS setting, the published script's by default."""
    from ..core.scorers.checks import DEFAULT_LAMBDA, DEFAULT_TOPK

    parser.add_argument(
        "--lam",
        type=finite,
        default=DEFAULT_LAMBDA,
        help=f"lambda, the weight of the external (dictionary) score (default {DEFAULT_LAMBDA:g})",
    )
    parser.add_argument(
        "--topk",
        type=whole,
        default=DEFAULT_TOPK,
        help=f"K, the dictionary entries nearest each image (default {DEFAULT_TOPK})",
    )


def add_exclude_argument(parser: argparse.ArgumentParser) -> None:
    """``--exclude-normal-names`` (evaluate, score, compare)."""
    parser.add_argument(
        "--exclude-normal-names",
        action="store_true",
        help="per split, leave dictionary entries equal to a normal class's name out of the external score",
    )


def add_method_arguments(parser: argparse.ArgumentParser) -> None:
    """The knobs of NegLabel (``--negatives``, ``--groups``, ``--seed``) and the gap shift
    (``--gap-texts``, ``--gap-delta``), as :class:`~bliss_core.core.evaluate.MethodOptions`."""
    parser.add_argument(
        "--negatives",
        type=positive_whole,
        default=None,
        metavar="M",
        help="NegLabel: negative labels mined from the dictionary (default 15%% of the candidates)",
    )
    parser.add_argument(
        "--groups",
        type=positive_whole,
        default=None,
        metavar="G",
        help="NegLabel: groups of negatives, at most M (default 100, lowered to M when fewer)",
    )
    parser.add_argument(
        "--seed",
        type=natural,
        default=0,
        help="NegLabel: seed of the permutation that groups the negatives (default 0)",
    )
    parser.add_argument(
        "--gap-texts",
        choices=["labels", "dictionary"],
        default="labels",
        help="gap shift: the texts the modality gap is measured to (default labels: the normal labels)",
    )
    parser.add_argument(
        "--gap-delta",
        type=finite,
        default=None,
        metavar="DELTA",
        help="gap shift: how far to shift along the gap, any real (default |gap|, which closes it; "
        "negative widens it)",
    )


def method_options(args: argparse.Namespace) -> Any:
    """The :class:`~bliss_core.core.evaluate.MethodOptions` of the parsed flags."""
    from ..core.evaluate import MethodOptions

    return MethodOptions(
        knn_k=getattr(args, "knn_k", 5),
        negatives=args.negatives,
        groups=args.groups,
        seed=args.seed,
        gap_texts=args.gap_texts,
        gap_delta=args.gap_delta,
    )


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """``--device auto|cpu|cuda``: where scoring's array work runs (evaluate, score, compare)."""
    parser.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="where scoring runs: cpu (numpy), cuda (torch on the GPU), auto (the GPU when there "
        "is one, else cpu; the default). Results are the same either way.",
    )


def scoring_backend(device: str) -> Any:
    """The scoring backend for ``--device``: ``"numpy"``, or a torch kernels object on the GPU
    (:func:`bliss_core.scale.torch_backend.auto_backend`; torch is imported only when a GPU
    may be present). ``cuda`` without a GPU is a one-line error."""
    if device == "cpu":
        return "numpy"
    from ..scale.torch_backend import auto_backend

    return auto_backend(device)


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write a CSV atomically; text cells that a spreadsheet would run as a formula are
    neutralised (OWASP). The folder must exist; an existing non-regular target is refused."""
    out = Path(path)
    with atomic_write(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow(csv_row(row))
    return out
