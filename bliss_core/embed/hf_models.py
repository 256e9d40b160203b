"""Hugging Face transformers models for ``--model hf:ID_OR_DIR``: CLIP, SigLIP and BLIP retrieval.

The paper's second vision-language model is BLIP; this backend embeds with any of

- ``CLIPModel`` (``model_type`` clip): the projected pooled outputs of both towers;
- ``SiglipModel`` (siglip): the pooled outputs of both towers (text padded to its full length,
  as SigLIP was trained);
- ``BlipForImageTextRetrieval`` (blip): its contrastive (ITC) embeddings, ``vision_proj`` of the
  vision [CLS] token and ``text_proj`` of the text encoder's [CLS] token, as its forward pass
  with ``use_itm_head=False`` computes them;

and returns an :class:`HFLoadedModel`, which has the fields and methods of the open_clip path's
:class:`~bliss_core.embed.models.LoadedModel`, so the pipeline, the cache and the app use it
unchanged (``encode_texts`` and ``encode_images`` call :meth:`HFLoadedModel.text_features` and
:meth:`HFLoadedModel.image_features`). :func:`bliss_core.embed.models.load_model` sends
``hf:`` names here after checking the options both backends share; this module does not import
``models`` (the layers' test forbids import cycles), so the few lines both need are repeated.

``ID_OR_DIR`` is a local folder written by ``save_pretrained`` (model, tokenizer and image
processor files; loaded with ``local_files_only``, never touching the network) or a hub id
(read from the Hugging Face cache; downloaded only when the hub answers, else one sentence).
transformers is an optional extra, imported only here and only when such a model loads.

Untrained: ``--pretrained random`` builds the architecture of the folder's or id's config with
random weights (seeded); a checkpoint whose weights for the towers used here are missing (so
transformers initialised them at random), or whose config carries ``"bliss_untrained": true``
(what test fixtures write), is marked untrained too. Otherwise the bundle says what the weights
are: the folder's name and the SHA-256 of its weight files, or the hub id and its revision.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError, first_line
from .network import hub_reachable
from .runtime import InferenceModel, file_sha256, place_model, weights_fingerprint

__all__ = ["ARCHITECTURES", "HF_EXTRA", "HFLoadedModel", "load_hf_model"]

HF_EXTRA = "pip install bliss-lab[hf]"
#: model_type -> (transformers class, the parameter prefixes the embeddings use)
ARCHITECTURES = {
    "clip": ("CLIPModel", ("text_model.", "vision_model.", "text_projection", "visual_projection")),
    "siglip": ("SiglipModel", ("text_model.", "vision_model.")),
    "blip": ("BlipForImageTextRetrieval", ("text_encoder.", "vision_model.", "text_proj", "vision_proj")),
}
_WEIGHT_SUFFIXES = (".safetensors", ".bin")


class _Preprocess:
    """A PIL image -> a [3, H, W] tensor, through the model's image processor."""

    def __init__(self, processor: Any) -> None:
        self.processor = processor

    def __call__(self, image: Any) -> Any:
        if getattr(image, "mode", "RGB") != "RGB":
            image = image.convert("RGB")
        return self.processor(images=image, return_tensors="pt")["pixel_values"][0]


@dataclass
class HFLoadedModel(InferenceModel):
    """A transformers model ready for inference (the fields of ``models.LoadedModel``, plus
    ``kind``: clip, siglip or blip)."""

    name: str
    model: Any
    preprocess: Callable[[Any], Any]
    tokenizer: Any
    device: str
    precision: str
    autocast_dtype: Any | None
    meta: dict[str, Any] = field(default_factory=dict)
    kind: str = "clip"
    text_max_length: int = 77
    pad_to_max_length: bool = False

    @property
    def embed_dim(self) -> int | None:
        cfg = self.model.config
        if self.kind == "clip":
            return int(cfg.projection_dim)
        if self.kind == "blip":
            return int(cfg.image_text_hidden_size)
        text = cfg.text_config
        return int(getattr(text, "projection_size", None) or text.hidden_size)

    def cache_identity(self) -> dict[str, Any]:
        """Backend ``hf``, the architecture, the weights (file hash or hub revision), the tokenizer,
        the preprocessing and the precision: what makes two embeddings comparable."""
        return {
            "backend": "hf",
            "model": f"{self.kind}:{type(self.model).__name__}",
            "weights": self.meta.get("weights_sha256") or self.meta.get("weights_id"),
            "tokenizer": self.meta.get("tokenizer_sha256") or self.meta.get("weights_id"),
            "preprocessing": self.meta["preprocessing"],
            "precision": self.meta.get("precision", "fp32"),
        }

    def text_features(self, prompts: Sequence[str]) -> Any:
        """Unnormalised text embeddings of filled prompts (a torch tensor on the model's device)."""
        import torch

        enc = self.tokenizer(
            list(prompts),
            padding="max_length" if self.pad_to_max_length else True,
            truncation=True,
            max_length=self.text_max_length,
            return_tensors="pt",
        )
        ids = enc["input_ids"].to(self.device)
        mask = enc.get("attention_mask")
        mask = None if mask is None else mask.to(self.device)
        if self.kind == "blip":
            cls = self.model.text_encoder(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0, :]
            return self.model.text_proj(cls)
        if self.kind == "siglip":
            mask = None  # SigLIP reads its padded text without a mask, as it was trained
        out = self.model.get_text_features(input_ids=ids, attention_mask=mask)
        return out if torch.is_tensor(out) else out.pooler_output

    def image_features(self, pixels: Any) -> Any:
        """Unnormalised image embeddings of a preprocessed batch [N, 3, H, W]."""
        import torch

        if self.kind == "blip":
            cls = self.model.vision_model(pixel_values=pixels).last_hidden_state[:, 0, :]
            return self.model.vision_proj(cls)
        out = self.model.get_image_features(pixel_values=pixels)
        return out if torch.is_tensor(out) else out.pooler_output


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """transformers' warnings and "Loading weights" bars off while a model loads, restored after."""
    from transformers.utils import logging as tlog

    level = tlog.get_verbosity()
    bars = tlog.is_progress_bar_enabled()
    tlog.set_verbosity_error()
    if bars:
        tlog.disable_progress_bar()
    try:
        yield
    finally:
        tlog.set_verbosity(level)
        if bars:
            tlog.enable_progress_bar()


def _files_sha256(folder: Path, names: Sequence[str] = (), suffixes: Sequence[str] = ()) -> str | None:
    """One SHA-256 over the files of ``folder`` with these names or suffixes (sorted), or None."""
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and (p.name in names or p.name.endswith(tuple(suffixes)))
    )
    if not files:
        return None
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode() + b"\0" + file_sha256(p).encode())
    return h.hexdigest()


def _source(ref: str, cache_dir: str | None) -> tuple[str, bool, bool, Any]:
    """(what to pass to from_pretrained, local_files_only, is a local folder, the config when
    finding the source has already read it from the Hugging Face cache, else None)."""
    from transformers import AutoConfig

    path = Path(ref).expanduser()
    if path.is_dir():
        return str(path), True, True, None
    if path.exists():
        raise ModelLoadError(
            f"hf:{ref} is a file; hf: takes a folder written by save_pretrained or a hub id "
            "such as openai/clip-vit-base-patch32."
        )
    if ref.startswith(("/", ".", "~")) or ref.count("/") > 1 or (os.sep != "/" and os.sep in ref):
        raise ModelLoadError(f"hf:{ref}: no such model folder.")
    try:  # the Hugging Face cache first: no network when it is there
        with _quiet_transformers():
            config = AutoConfig.from_pretrained(ref, local_files_only=True, cache_dir=cache_dir)
        return ref, True, False, config
    except (OSError, ValueError):
        pass
    if not hub_reachable():
        raise ModelLoadError(
            f"hf:{ref} is not in the Hugging Face cache and the hub cannot be reached; run once with "
            "internet access, set HF_HOME to a cache that has it, or pass a local folder (hf:/path)."
        )
    print(f"bliss: downloading hf:{ref} (first use only)...", file=sys.stderr)
    return ref, False, False, None


def _preprocess_description(processor: Any, mode: str) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": mode, "processor": type(processor).__name__}
    for key in (
        "size",
        "crop_size",
        "image_mean",
        "image_std",
        "resample",
        "do_center_crop",
        "do_resize",
        "rescale_factor",
    ):
        value = getattr(processor, key, None)
        if value is None:
            continue
        if hasattr(value, "items"):
            value = {k: v for k, v in dict(value).items() if v is not None}
        elif isinstance(value, tuple):
            value = list(value)
        elif not isinstance(value, (int, float, str, bool, list)):
            value = str(value)
        out[key] = value
    return out


def load_hf_model(
    ref: str,
    pretrained: str | None = None,
    device: str = "cpu",
    preprocess: str = "model",
    cache_dir: str | None = None,
    seed: int = 0,
    precision: str = "auto",
    paper_norm: tuple[Sequence[float], Sequence[float]] | None = None,
) -> HFLoadedModel:
    """Load ``hf:ref`` (a local folder or a hub id) as a CLIP, SigLIP or BLIP retrieval model.

    Called by :func:`bliss_core.embed.models.load_model`, which has checked ``preprocess`` and
    ``precision``, resolved ``device`` (cpu, cuda, mps) and passes the published script's
    normalisation as ``paper_norm`` (mean, std).
    ``pretrained``: ``"random"`` for random weights from the config (untrained); None, empty or
    ``"openai"`` (``bliss embed``'s default) for the weights of ``ref``; anything else is
    refused, since the weights come with ``ref``. Raises :class:`ModelLoadError` in one sentence.
    """
    try:
        import transformers
    except ImportError:
        raise ModelLoadError(f"--model hf:{ref} needs the transformers package: {HF_EXTRA}.") from None
    import torch

    ref = str(ref).strip()
    if not ref:
        raise ModelLoadError("hf: needs a model id or a local folder, e.g. hf:openai/clip-vit-base-patch32.")
    tag = str(pretrained or "").strip()
    random_weights = tag.lower() in ("random", "none")
    if tag and not random_weights and tag.lower() != "openai":
        raise ModelLoadError(
            f"--pretrained {tag} does not apply to hf: models, whose weights come with hf:{ref}; "
            "leave it out, or pass 'random' for untrained weights."
        )
    source, local_only, is_dir, config = _source(ref, cache_dir)
    common = {"local_files_only": local_only, "cache_dir": cache_dir}
    if config is None:
        try:
            with _quiet_transformers():
                config = transformers.AutoConfig.from_pretrained(source, **common)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"hf:{ref}: no usable config.json ({first_line(exc)}).") from None
    kind = str(getattr(config, "model_type", ""))
    if kind not in ARCHITECTURES:
        raise ModelLoadError(
            f"hf:{ref} is a '{kind or 'unknown'}' model; bliss embeds with CLIP, SigLIP and BLIP "
            "image-text retrieval models."
        )
    cls_name, used = ARCHITECTURES[kind]
    cls = getattr(transformers, cls_name)
    meta: dict[str, Any] = {
        "model": f"hf:{ref}",
        "backend": "hf",
        "architecture": cls_name,
        "untrained": False,
        "transformers_version": transformers.__version__,
    }
    try:
        with _quiet_transformers():
            if random_weights:
                torch.manual_seed(int(seed))
                model = cls(config)
                missing: list[str] = []
            else:
                model, info = cls.from_pretrained(source, output_loading_info=True, **common)
                missing = sorted(k for k in info.get("missing_keys", ()) if k.startswith(used))
            tokenizer = transformers.AutoTokenizer.from_pretrained(source, **common)
            processor = transformers.AutoImageProcessor.from_pretrained(source, **common)
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(
            f"hf:{ref}: could not be loaded as a {cls_name} with its tokenizer and image "
            f"processor ({first_line(exc)})."
        ) from None
    model.eval()
    if random_weights:
        meta.update(
            pretrained="random",
            untrained=True,
            seed=int(seed),
            weights_id=f"random:seed={seed}:{weights_fingerprint(model)[:16]}",
        )
    elif is_dir:
        folder = Path(source)
        meta.update(
            pretrained=folder.name,
            weights_sha256=_files_sha256(folder, suffixes=_WEIGHT_SUFFIXES) or weights_fingerprint(model),
        )
        tok = _files_sha256(
            folder,
            names=(
                "tokenizer.json",
                "tokenizer_config.json",
                "vocab.txt",
                "vocab.json",
                "merges.txt",
                "special_tokens_map.json",
                "spiece.model",
            ),
        )
        if tok:
            meta["tokenizer_sha256"] = tok
    else:
        revision = getattr(config, "_commit_hash", None)
        meta.update(
            pretrained=ref,
            weights_id=f"{ref}@{revision}" if revision else f"{ref}:{weights_fingerprint(model)[:16]}",
        )
    if missing:
        meta.update(untrained=True, missing_weights=len(missing))
        print(
            f"bliss: warning: hf:{ref} lacks {len(missing)} weights of the parts bliss uses ({missing[0]}, ...); "
            "they were initialised at random, so this model is marked untrained.",
            file=sys.stderr,
        )
    if getattr(config, "bliss_untrained", False):
        meta["untrained"] = True
    if random_weights:
        print(
            f"bliss: warning: hf:{ref} has RANDOM weights (untrained); its embeddings mean nothing about images "
            "or text.",
            file=sys.stderr,
        )
    if preprocess == "paper":
        if paper_norm is None:
            raise ModelLoadError("--preprocess paper needs the published script's normalisation constants.")
        processor.image_mean, processor.image_std = list(paper_norm[0]), list(paper_norm[1])

    model, autocast_dtype, precision = place_model(model, device, precision)
    meta.update(
        preprocessing=_preprocess_description(processor, preprocess), device=device, precision=precision
    )
    text_cfg = config.text_config
    limit = int(getattr(text_cfg, "max_position_embeddings", 77) or 77)
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_limit, int) and 0 < tok_limit < limit:
        limit = tok_limit
    return HFLoadedModel(
        name=f"hf:{ref}",
        model=model,
        preprocess=_Preprocess(processor),
        tokenizer=tokenizer,
        device=device,
        precision=precision,
        autocast_dtype=autocast_dtype,
        meta=meta,
        kind=kind,
        text_max_length=limit,
        pad_to_max_length=kind == "siglip",
    )
