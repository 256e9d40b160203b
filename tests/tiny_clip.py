"""A tiny open_clip architecture for fast tests (random weights only; tokenises like CLIP)."""

from __future__ import annotations

import json
from pathlib import Path

TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def write_tiny_config(folder: Path, name: str = "bliss-tiny-test") -> Path:
    """Write the config as ``folder/name.json``; pass that path as the model name."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(TINY_CONFIG))
    return path
