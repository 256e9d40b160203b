"""``bliss embed``: the command-line front of :func:`bliss_core.embed.pipeline.embed_dataset`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..core.text import DEFAULT_PROMPT
from ..errors import CommandError
from ..files import check_output
from .common import finite, warn, whole

DESCRIPTION = (
    "Embed a dataset's images, its class names and a text dictionary with a CLIP-like model "
    "and write a bundle (.npz) that 'bliss score/evaluate' and the app read without a model."
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("embed", help="embed a dataset into a bundle", description=DESCRIPTION)
    p.add_argument(
        "--data",
        required=True,
        metavar="SOURCE",
        help="cifar10, cifar100, tinyimagenet:PATH, folder:PATH or zip:PATH (class sub-folders, optional train/ and test/)",
    )
    p.add_argument(
        "--model",
        default="ViT-B-32",
        metavar="NAME|hf:ID_OR_DIR",
        help="open_clip model name (default ViT-B-32), or hf: and a Hugging Face CLIP, SigLIP or BLIP "
        "retrieval model id or local folder (needs pip install bliss-lab[hf])",
    )
    p.add_argument(
        "--pretrained",
        default="openai",
        metavar="TAG|PATH|random",
        help="open_clip weights tag, a local checkpoint file, or 'random' (untrained; smoke tests only)",
    )
    p.add_argument(
        "--out", required=True, metavar="BUNDLE.npz", help="bundle file to write (its folder must exist)"
    )
    p.add_argument(
        "--dictionary",
        default="imagenet",
        metavar="imagenet|imagenet21k|FILE",
        help="dictionary for the external score: imagenet (1,860 entries), imagenet21k, or a text file, "
        "one entry a line",
    )
    p.add_argument(
        "--prompt",
        default=DEFAULT_PROMPT,
        metavar="TEMPLATE|openai-imagenet|simple-imagenet",
        help="prompt template with {} for the name, or an ensemble of open_clip's ImageNet templates "
        "(openai-imagenet: 80; a text's embedding is the normalised mean over them)",
    )
    p.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda", "mps"],
        help="default: cuda, then mps, then cpu",
    )
    p.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "fp16", "bf16"],
        help="auto: mixed precision on a GPU, fp32 on CPU; fp16/bf16: weights in that type (GPU only; "
        "the official run used fp16)",
    )
    p.add_argument(
        "--batch-size", type=whole, default=64, metavar="N", help="images per forward pass (default 64)"
    )
    p.add_argument(
        "--per-class-limit", type=whole, default=None, metavar="N", help="first N images per class and split"
    )
    p.add_argument(
        "--preprocess",
        default="model",
        choices=["model", "paper"],
        help="model: the model's own normalisation (default); paper: the published script's CIFAR-10 statistics",
    )
    p.add_argument(
        "--class-names",
        default="readable",
        choices=["readable", "official"],
        help="readable: folder names with spaces (default); official: as the dataset writes them "
        "(aquarium_fish), as the published prompts do",
    )
    p.add_argument(
        "--data-root", default=None, metavar="DIR", help="where torchvision datasets are read or downloaded"
    )
    p.add_argument(
        "--cache-dir",
        default=None,
        metavar="DIR",
        help="embedding cache (default $BLISS_CACHE_DIR or ~/.cache/bliss-lab/embeddings)",
    )
    p.add_argument(
        "--workers",
        type=whole,
        default=None,
        metavar="N",
        help="local engine: image decoding threads (default min(4, CPUs)); ray engine: model workers "
        "(default one per GPU, or 1)",
    )
    p.add_argument(
        "--engine",
        default="local",
        choices=["local", "ray"],
        help="local: this machine (default); ray: a Ray Data pipeline on a Ray cluster (pip install bliss-lab[ray])",
    )
    p.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="with --engine ray: the cluster ('auto' for the one 'ray start --head' runs; default: start a local Ray)",
    )
    p.add_argument(
        "--gpus-per-worker",
        type=finite,
        default=None,
        metavar="G",
        help="with --engine ray: GPUs per model worker (default 1 when the cluster has GPUs, else 0)",
    )
    p.set_defaults(func=run)
    return p


class _StderrProgress:
    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, ev: Any) -> None:
        line = ev.line()
        if self.tty:
            end = "\n" if ev.done >= ev.total else ""
            print("\r" + line.ljust(78), end=end, file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)


def _engine(args: argparse.Namespace) -> tuple[Any, int | None]:
    """The engine for ``--engine`` and the decoding threads for the local pipeline; Ray's
    absence is one line naming the extra to install."""
    if args.engine == "ray":
        from ..scale.ray_engine import RayEngine

        return RayEngine(
            address=args.ray_address, workers=args.workers, gpus_per_worker=args.gpus_per_worker
        ), None
    if args.ray_address is not None or args.gpus_per_worker is not None:
        raise CommandError("--ray-address and --gpus-per-worker go with --engine ray.")
    return None, args.workers


def run(args: argparse.Namespace) -> int:
    """Run ``bliss embed`` from parsed arguments."""
    for flag in ("batch_size", "per_class_limit", "workers"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise CommandError(f"--{flag.replace('_', '-')} must be at least 1, got {value}.")
    if not str(args.out).endswith(".npz"):
        raise CommandError(f"--out {args.out}: bundle files end in .npz.")
    check_output(args.out)  # before the model loads, not after an hour of embedding
    engine, workers = _engine(args)
    try:
        from ..embed.pipeline import embed_dataset
    except ImportError as exc:  # torch / open_clip missing
        raise CommandError(f"bliss embed needs torch and open_clip_torch ({exc}).") from None
    try:
        bundle, report = embed_dataset(
            data=args.data,
            model=args.model,
            pretrained=args.pretrained,
            out=args.out,
            dictionary=args.dictionary,
            prompt=args.prompt,
            device=args.device,
            batch_size=args.batch_size,
            per_class_limit=args.per_class_limit,
            preprocess=args.preprocess,
            data_root=args.data_root,
            cache_dir=args.cache_dir,
            workers=workers,
            progress=_StderrProgress(),
            class_names=args.class_names,
            precision=args.precision,
            engine=engine,
        )
    except KeyboardInterrupt:
        raise CommandError(
            "interrupted; finished batches are cached and a rerun resumes from them."
        ) from None
    for note in report.cache_notes:
        warn(note)
    for name, reason in report.skipped:
        warn(f"skipped {name}: {reason}")
    warn(
        f"wrote {args.out}: {bundle.describe()}; {report.n_computed} images computed, "
        f"{report.n_from_cache} from cache, {len(report.skipped)} skipped, "
        f"{report.seconds.get('total', 0):.1f} s"
    )
    if bundle.untrained:
        warn("warning: this bundle comes from an UNTRAINED model (random weights); its scores mean nothing.")
    return 0
