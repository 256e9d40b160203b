"""Prompts: one template, or a named ensemble of templates.

``--prompt`` takes a template with ``{}`` for the name ("This is a photo of a {}") or the name
of an ensemble from open_clip's ``zero_shot_metadata``:

- ``openai-imagenet``: ``OPENAI_IMAGENET_TEMPLATES``, the 80 templates of CLIP's ImageNet
  zero-shot evaluation ("a bad photo of a {}.", "a sculpture of a {}.", ...);
- ``simple-imagenet``: ``SIMPLE_IMAGENET_TEMPLATES``, its short list.

With an ensemble, a text's embedding is the normalised mean of its normalised embeddings under
each template, for class names and dictionary entries alike. The templates are read from the
open_clip module file without importing open_clip (or torch), so listing them is cheap.
:func:`bliss_core.embed.models.encode_texts` embeds texts under an ensemble name.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.text import DEFAULT_PROMPT
from ..core.vectors import unit_rows
from ..errors import EmbedError

__all__ = ["ENSEMBLES", "Prompt", "ensemble_mean", "ensemble_templates", "is_ensemble", "resolve_prompt"]

#: Ensemble name -> the attribute of ``open_clip.zero_shot_metadata`` holding its templates.
ENSEMBLES = {"openai-imagenet": "OPENAI_IMAGENET_TEMPLATES", "simple-imagenet": "SIMPLE_IMAGENET_TEMPLATES"}


@dataclass(frozen=True)
class Prompt:
    """A resolved ``--prompt``: ``name`` is what the bundle's meta records (the ensemble's name,
    or the template itself) and ``templates`` the templates a text is embedded with."""

    name: str
    templates: tuple[str, ...]

    @property
    def is_ensemble(self) -> bool:
        return self.name in ENSEMBLES


def is_ensemble(spec: Any) -> bool:
    """Whether ``spec`` names an ensemble (case and surrounding space ignored)."""
    return str(spec).strip().lower() in ENSEMBLES


def _metadata_module() -> Any:
    spec = importlib.util.find_spec("open_clip")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        path = Path(loc) / "zero_shot_metadata.py"
        if path.is_file():
            mod_spec = importlib.util.spec_from_file_location("_bliss_open_clip_zero_shot_metadata", path)
            module = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(module)
            return module
    raise EmbedError(
        "the prompt ensembles come from open_clip_torch, which is not installed; install it or pass "
        "a --prompt template with {}."
    )


def ensemble_templates(name: str) -> list[str]:
    """The templates of ensemble ``name`` with ``{}`` where the text goes."""
    key = str(name).strip().lower()
    if key not in ENSEMBLES:
        raise EmbedError(f"unknown prompt ensemble '{name}'; use {' or '.join(ENSEMBLES)}.")
    functions = getattr(_metadata_module(), ENSEMBLES[key])
    return [fn("{}") for fn in functions]


def resolve_prompt(spec: str | None = DEFAULT_PROMPT) -> Prompt:
    """``--prompt``: an ensemble name, or one template that must contain ``{}``."""
    text = DEFAULT_PROMPT if spec is None else str(spec)
    if is_ensemble(text):
        key = text.strip().lower()
        return Prompt(key, tuple(ensemble_templates(key)))
    if "{}" not in text:
        raise EmbedError(
            f"the prompt '{text}' has no {{}} placeholder for the class name "
            f"(or name an ensemble: {', '.join(ENSEMBLES)})."
        )
    return Prompt(text, (text,))


def ensemble_mean(per_template: np.ndarray) -> np.ndarray:
    """[T, N, D] embeddings of N texts under T templates -> [N, D]: each row normalised, the T
    rows of a text averaged, and the mean normalised again. One template: its rows, unchanged."""
    arr = np.asarray(per_template, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise EmbedError(f"expected [templates, texts, dim] embeddings, got shape {arr.shape}.")
    if arr.shape[0] == 1:
        return arr[0]
    unit = np.stack([unit_rows(a, dtype=np.float32) for a in arr])
    return unit_rows(unit.mean(axis=0), dtype=np.float32)
