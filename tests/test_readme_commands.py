"""Every `bliss ...` command in the README's bash blocks parses with the real argument parser,
so the commands a user pastes are at least well formed (sub-command, flags, values)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bliss_core.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        block = re.sub(r"\\\n\s*", " ", block)  # a command continued on the next line
        for line in block.splitlines():
            line = line.split(" #")[0].strip()
            for part in re.split(r";\s*do\s+|;\s*done|&&", line):
                part = part.strip()
                if part.startswith("bliss "):
                    out.append(re.split(r"\s[|>]\s?", part)[0].replace("$n", "10"))
    return out


COMMANDS = _commands()


def test_the_readme_has_the_research_commands():
    subs = {shlex.split(c)[1] for c in COMMANDS}
    assert {"embed", "evaluate", "score", "diagnose", "compare", "dictionary"} <= subs
    joined = "\n".join(COMMANDS)
    for flag in (
        "--prompt openai-imagenet",
        "--model hf:",
        "--dictionary imagenet21k",
        "--exclude-normal-names",
        "--shots 10 --seeds 5",
        "--json",
        "--out",
    ):
        assert flag in joined, flag


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_parses(command):
    build_parser().parse_args(shlex.split(command)[1:])  # exits 2 (SystemExit) on a bad command
