"""The ``bliss`` command: one module per sub-command (embed, evaluate, score, diagnose, compare,
dictionary).

Every user error is a :class:`~bliss_core.errors.BlissError` and prints one line,
``bliss: error: ...``, on stderr with exit status 2; anything else is a bug and keeps its
traceback. Sub-commands import what they need when they run, so ``bliss evaluate`` never
imports torch.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..core.text import printable
from ..errors import BlissError
from . import compare, diagnose, dictionary, embed, evaluate, score
from .common import join_signed_values

EXIT_USAGE = 2
COMMANDS = (embed, evaluate, score, diagnose, compare, dictionary)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit 2, like every other user error
        self.exit(EXIT_USAGE, f"bliss: error: {printable(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bliss",
        description="Measure and correct the text clustering effect of CLIP-like models; BLISS anomaly scoring.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bliss``; returns the exit status (0 ok, 2 a user error, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(join_signed_values(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help, or a usage error already printed as one line
        return int(exc.code or 0)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("bliss: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `bliss dictionary imagenet | head`: quiet, like any filter
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 0
    except BlissError as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(f"bliss: error: {printable(msg)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
