"""scripts/reproduce-paper.sh cannot run here (no weights, no downloads), so its `bliss` command
lines are checked instead: bash parses the script, and every `bliss` call it makes parses with
the real argument parser (a stand-in `bliss` records them and writes nothing but the bundle
file the next step looks for)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "reproduce-paper.sh"

STAND_IN = r"""
import json, sys
from pathlib import Path
from bliss_core.cli import build_parser
args = build_parser().parse_args(sys.argv[1:])  # exits 2 on anything the real bliss refuses
with open(sys.argv[0] + ".log", "a") as fh:
    fh.write(json.dumps({k: v for k, v in vars(args).items() if k != "func"}) + "\n")
if args.command == "embed":
    Path(args.out).touch()
elif not getattr(args, "json", False):
    print("lambda=0.5  K=10\n  mean +/- std  (dry run: no numbers)")
"""


def test_script_parses_in_bash():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_every_bliss_call_parses_with_the_official_settings(tmp_path):
    stand_in = tmp_path / "bliss_dry_run.py"
    stand_in.write_text(STAND_IN)
    env = dict(os.environ, BLISS=f"{sys.executable} {stand_in}", PYTHONPATH=str(ROOT))
    out = tmp_path / "results"
    proc = subprocess.run(
        ["bash", str(SCRIPT), str(out), str(tmp_path / "tiny-imagenet-200")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    calls = [json.loads(line) for line in (tmp_path / "bliss_dry_run.py.log").read_text().splitlines()]
    embeds = [c for c in calls if c["command"] == "embed"]
    assert [c["data"] for c in embeds] == [
        "cifar10",
        "cifar100",
        f"tinyimagenet:{tmp_path / 'tiny-imagenet-200'}",
    ]
    for c in embeds:
        assert (
            c["model"],
            c["pretrained"],
            c["precision"],
            c["preprocess"],
            c["class_names"],
            c["dictionary"],
        ) == ("ViT-B-16", "openai", "fp16", "paper", "official", "imagenet")
    evals = [c for c in calls if c["command"] == "evaluate"]
    assert sorted({c["setup"] for c in evals}) == ["1", "6", "9", "cifar100-20", "tinyimagenet-cac"]
    lams = sorted({tuple(c["lam"]) for c in evals})
    assert lams == [(0.0,), (0.5, 0.75)] and all(c["topk"] == [10] for c in evals)
    assert "mean +/- std" in proc.stdout
