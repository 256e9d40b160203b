"""``bliss embed``: the command-line front of :func:`bliss_core.pipeline.embed_dataset`.

``bliss_core.cli`` calls :func:`add_embed_parser` and :func:`run_embed`. Errors print one line
``bliss: error: ...`` to stderr and return exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_embed_parser", "run_embed"]

DESCRIPTION = (
    "Embed a dataset's images, its class names and a text dictionary with a CLIP-like model "
    "and write a bundle (.npz) that 'bliss score/evaluate' and the app read without a model."
)


def add_embed_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``embed`` sub-command on an ``argparse`` subparsers object."""
    p = subparsers.add_parser("embed", help="embed a dataset into a bundle", description=DESCRIPTION)
    p.add_argument("--data", required=True, metavar="SOURCE",
                   help="cifar10, cifar100, tinyimagenet:PATH, folder:PATH or zip:PATH (class sub-folders, optional train/ and test/)")
    p.add_argument("--model", default="ViT-B-32", metavar="NAME", help="open_clip model name (default ViT-B-32)")
    p.add_argument("--pretrained", default="openai", metavar="TAG|PATH|random",
                   help="open_clip weights tag, a local checkpoint file, or 'random' (untrained; smoke tests only)")
    p.add_argument("--out", required=True, metavar="BUNDLE.npz", help="bundle file to write")
    p.add_argument("--dictionary", default="imagenet", metavar="imagenet|FILE",
                   help="dictionary for the external score: imagenet (1,860 entries) or a text file, one entry a line")
    p.add_argument("--prompt", default="This is a photo of a {}", help="prompt template with {} for the name")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"], help="default: cuda, then mps, then cpu")
    p.add_argument("--batch-size", type=int, default=64, metavar="N", help="images per forward pass (default 64)")
    p.add_argument("--per-class-limit", type=int, default=None, metavar="N", help="first N images per class and split")
    p.add_argument("--preprocess", default="model", choices=["model", "paper"],
                   help="model: the model's own normalisation (default); paper: the published script's CIFAR-10 statistics")
    p.add_argument("--data-root", default=None, metavar="DIR", help="where torchvision datasets are read or downloaded")
    p.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="embedding cache (default $BLISS_CACHE_DIR or ~/.cache/bliss-lab/embeddings)")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="image decoding threads (default min(4, CPUs))")
    p.set_defaults(func=run_embed)
    return p


def _error(msg: str) -> int:
    msg = " ".join(str(msg).split())
    print(f"bliss: error: {msg}", file=sys.stderr)
    return 2


class _StderrProgress:
    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.stage = None

    def __call__(self, ev: Any) -> None:
        line = ev.line()
        if self.tty:
            end = "\n" if ev.done >= ev.total else ""
            print("\r" + line.ljust(78), end=end, file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)


def run_embed(args: argparse.Namespace) -> int:
    """Run ``bliss embed`` from parsed arguments; return the exit code (0 ok, 2 error)."""
    from .bundle import BundleError
    from .cache import CacheError
    from .data import DataError
    from .dictionary import DictionaryError

    if args.batch_size is not None and args.batch_size < 1:
        return _error(f"--batch-size must be at least 1, got {args.batch_size}.")
    if args.per_class_limit is not None and args.per_class_limit < 1:
        return _error(f"--per-class-limit must be at least 1, got {args.per_class_limit}.")
    if args.workers is not None and args.workers < 1:
        return _error(f"--workers must be at least 1, got {args.workers}.")
    if not str(args.out).endswith(".npz"):
        return _error(f"--out {args.out}: bundle files end in .npz.")
    try:
        from .models import ModelLoadError
        from .pipeline import EmbedError, embed_dataset
    except ImportError as exc:  # torch / open_clip missing
        return _error(f"bliss embed needs torch and open_clip_torch ({exc}).")
    try:
        bundle, report = embed_dataset(
            data=args.data, model=args.model, pretrained=args.pretrained, out=args.out,
            dictionary=args.dictionary, prompt=args.prompt, device=args.device, batch_size=args.batch_size,
            per_class_limit=args.per_class_limit, preprocess=args.preprocess, data_root=args.data_root,
            cache_dir=getattr(args, "cache_dir", None), workers=getattr(args, "workers", None),
            progress=_StderrProgress(),
        )
    except (DataError, DictionaryError, ModelLoadError, CacheError, EmbedError, BundleError) as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        return _error("interrupted; finished batches are cached and a rerun resumes from them.")
    except OSError as exc:
        return _error(f"{getattr(exc, 'filename', None) or ''} {exc.strerror or exc}".strip() + ".")
    except Exception as exc:  # never show a traceback on the command line
        return _error(f"unexpected {type(exc).__name__}: {exc}")
    for name, reason in report.skipped:
        print(f"bliss: skipped {name}: {reason}", file=sys.stderr)
    print(
        f"bliss: wrote {args.out}: {bundle.describe()}; {report.n_computed} images computed, "
        f"{report.n_from_cache} from cache, {len(report.skipped)} skipped, "
        f"{report.seconds.get('total', 0):.1f} s",
        file=sys.stderr,
    )
    if bundle.untrained:
        print("bliss: warning: this bundle comes from an UNTRAINED model (random weights); its scores mean nothing.",
              file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m bliss_core.cli_embed ...``) for tests and debugging."""

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # one line, exit 2, like the main CLI
            print(f"bliss: error: {message}", file=sys.stderr)
            raise SystemExit(2)

    parser = _Parser(prog="bliss")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_embed_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
