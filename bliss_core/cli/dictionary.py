"""``bliss dictionary NAME|FILE``: a dictionary's entries, one per line, to read or edit before
embedding (``bliss dictionary imagenet > words.txt``, edit, ``bliss embed --dictionary words.txt``)."""

from __future__ import annotations

import argparse
import sys

from ..core.text import printable


def add_parser(sub) -> argparse.ArgumentParser:
    dc = sub.add_parser(
        "dictionary",
        help="print a dictionary's entries, one per line",
        description="Print the entries of a built-in dictionary (imagenet, imagenet21k) or a "
        "dictionary file, one per line, as 'bliss embed --dictionary' would use them.",
    )
    dc.add_argument(
        "name", metavar="NAME|FILE", help="imagenet, imagenet21k, or a text file with one entry a line"
    )
    dc.set_defaults(func=run)
    return dc


def run(args: argparse.Namespace) -> int:
    from ..embed.dictionary import load_dictionary

    entries = load_dictionary(args.name)
    sys.stdout.write("".join(printable(e) + "\n" for e in entries))
    sys.stdout.flush()  # a closed pipe (`| head`) ends quietly in cli.main
    return 0
