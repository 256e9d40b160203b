"""Vision-language model factory (open_clip; Hugging Face transformers via ``hf:``) for
``bliss embed`` and the app.

``load_model(name, pretrained)`` accepts an open_clip pretrained tag (weights come from the
open_clip / Hugging Face cache, downloaded with progress when online), a local checkpoint file
(its sha256 is recorded), or ``"random"`` (random weights from a fixed seed, always labelled
untrained). Offline with no cached weights fails within seconds with :class:`ModelLoadError`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.text import DEFAULT_PROMPT, fill_prompt
from ..errors import ModelLoadError, first_line
from .network import hub_reachable
from .runtime import InferenceModel, file_sha256, place_model, weights_fingerprint

__all__ = [
    "DEFAULT_PROMPT",
    "PAPER_MEAN",
    "PAPER_STD",
    "PRECISIONS",
    "LoadedModel",
    "ModelLoadError",
    "encode_images",
    "encode_texts",
    "file_sha256",
    "load_model",
    "resolve_device",
]

#: CIFAR-10 channel statistics exactly as the published BLISS script writes them (``--preprocess paper``).
PAPER_MEAN = (0.4913, 0.4821, 0.4465)
PAPER_STD = (0.2470, 0.2434, 0.2615)
#: ``auto``: mixed precision on a GPU (bf16 autocast where supported, else fp16), fp32 on CPU.
#: ``fp16``/``bf16``: the model's weights in that type (the official run used fp16 weights).
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
RANDOM_SEED = 0


@dataclass
class LoadedModel(InferenceModel):
    """An open_clip model ready for inference, with everything needed to describe it."""

    name: str
    model: Any
    preprocess: Callable[[Any], Any]
    tokenizer: Callable[..., Any]
    device: str
    precision: str
    autocast_dtype: Any | None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def embed_dim(self) -> int | None:
        """Dimension of the joint embedding space (None when the model does not say)."""
        return getattr(getattr(self.model, "visual", None), "output_dim", None)

    def text_features(self, prompts: Sequence[str]) -> Any:
        """Unnormalised text embeddings of filled prompts (a torch tensor on the device)."""
        return _encode_tokens(self, self.tokenizer(list(prompts)).to(self.device))

    def image_features(self, pixels: Any) -> Any:
        """Unnormalised image embeddings of a preprocessed batch on the device."""
        return self.model.encode_image(pixels)

    def cache_identity(self) -> dict[str, Any]:
        """What makes two embeddings of the same image comparable: backend, model, weights,
        preprocessing and numeric precision."""
        return {
            "backend": self.meta.get("backend", "open_clip"),
            "model": self.meta["model"],
            "weights": self.meta.get("weights_sha256")
            or self.meta.get("weights_id")
            or self.meta["pretrained"],
            "preprocessing": self.meta["preprocessing"],
            "precision": self.meta.get("precision", "fp32"),
        }


def resolve_device(device: str = "auto") -> str:
    """``auto`` picks cuda, then mps, then cpu; explicit devices are checked for availability."""
    import torch

    device = (device or "auto").strip().lower()
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(
            "--device cuda was requested but no CUDA GPU is available; use --device auto or cpu."
        )
    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ModelLoadError(
                "--device mps was requested but Apple MPS is not available; use --device auto or cpu."
            )
    if not (device == "cpu" or device == "mps" or device.startswith("cuda")):
        raise ModelLoadError(f"unknown device '{device}'; use auto, cpu, cuda or mps.")
    return device


def _hf_cache_dir(cache_dir: str | None) -> str:
    if cache_dir:
        return cache_dir
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _cached_weights(cfg: dict[str, Any], cache_dir: str | None) -> str | None:
    """Path of already-downloaded weights for a pretrained config, or None."""
    hub = cfg.get("hf_hub", "")
    if hub:
        from huggingface_hub import try_to_load_from_cache

        model_id, filename = os.path.split(hub)
        names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        extra = [n[:-4] + ".safetensors" for n in names if n.endswith((".bin", ".pth"))]
        for fn in extra + names:
            try:
                hit = try_to_load_from_cache(model_id, fn, cache_dir=cache_dir)
            except Exception:
                hit = None
            if isinstance(hit, str) and os.path.isfile(hit):
                return hit
    url = cfg.get("url", "")
    if url:
        target = Path(cache_dir or os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
        if target.is_file():
            return str(target)
    return None


def _fetch_weights(name: str, tag: str, cfg: dict[str, Any], cache_dir: str | None) -> str:
    cached = _cached_weights(cfg, cache_dir)
    if cached:
        return cached
    how = (
        f"run once with internet access to download them into {_hf_cache_dir(cache_dir)}, set HF_HOME to a "
        f"cache that has them, or pass --pretrained /path/to/weights (or 'random' for an untrained smoke test)"
    )
    if not hub_reachable():
        raise ModelLoadError(
            f"Weights for {name} '{tag}' are not cached and the model hub cannot be reached; {how}."
        )
    import open_clip

    print(f"bliss: downloading {name} '{tag}' weights (first use only)...", file=sys.stderr)
    try:
        path = open_clip.download_pretrained(cfg, cache_dir=cache_dir)
    except Exception as exc:
        raise ModelLoadError(f"Downloading {name} '{tag}' weights failed ({exc}); {how}.") from None
    if not path or not os.path.isfile(path):
        raise ModelLoadError(f"Downloading {name} '{tag}' weights produced no file; {how}.")
    return path


def _register_config(name: str) -> str:
    """Accept a model name, or a path to an open_clip JSON config (registered under its stem)."""
    import open_clip

    if name.endswith(".json"):
        p = Path(name).expanduser()
        if not p.is_file():
            raise ModelLoadError(f"{name}: no such model config file.")
        open_clip.add_model_config(str(p))
        return p.stem
    return name


def _preprocess_description(model: Any, mode: str) -> dict[str, Any]:
    cfg = dict(getattr(getattr(model, "visual", None), "preprocess_cfg", {}) or {})
    out = {"mode": mode}
    for k in ("size", "mean", "std", "interpolation", "resize_mode"):
        if k in cfg:
            v = cfg[k]
            out[k] = list(v) if isinstance(v, tuple) else v
    return out


def load_model(
    name: str = "ViT-B-32",
    pretrained: str = "openai",
    device: str = "auto",
    preprocess: str = "model",
    cache_dir: str | None = None,
    seed: int = RANDOM_SEED,
    precision: str = "auto",
) -> LoadedModel:
    """Build an open_clip model with weights from a tag, a local file, or ``"random"``.

    ``preprocess="model"`` uses the model's own image preprocessing; ``"paper"`` keeps its
    resize/crop but normalises with CIFAR-10 statistics as the published script does.
    ``precision`` is one of :data:`PRECISIONS`; fp16 and bf16 weights need a GPU.
    Raises :class:`ModelLoadError` with one sentence on any failure. ``hf:ID_OR_DIR`` loads a
    Hugging Face transformers model instead (:mod:`bliss_core.embed.hf_models`).
    """
    if preprocess not in ("model", "paper"):
        raise ModelLoadError(f"unknown preprocessing '{preprocess}'; use model or paper.")
    if precision not in PRECISIONS:
        raise ModelLoadError(f"unknown precision '{precision}'; use {', '.join(PRECISIONS)}.")
    dev = resolve_device(device)
    if precision in ("fp16", "bf16") and dev == "cpu":
        raise ModelLoadError(f"--precision {precision} needs a GPU; on a CPU use fp32 (or auto).")
    if str(name).startswith("hf:"):
        from .hf_models import load_hf_model

        return load_hf_model(
            str(name)[3:],
            pretrained,
            device=dev,
            preprocess=preprocess,
            cache_dir=cache_dir,
            seed=seed,
            precision=precision,
            paper_norm=(PAPER_MEAN, PAPER_STD),
        )
    import open_clip
    import torch

    name = _register_config(str(name))
    if name not in open_clip.list_models():
        raise ModelLoadError(
            f"unknown model '{name}'; see open_clip.list_models() for names, e.g. ViT-B-32 or ViT-B-16."
        )
    pretrained = str(pretrained or "random")
    kwargs: dict[str, Any] = {}
    meta: dict[str, Any] = {"model": name, "pretrained": pretrained, "untrained": False}
    checkpoint: str | None = None
    tag_cfg: dict[str, Any] = {}
    if pretrained.lower() in ("random", "none"):
        meta.update(pretrained="random", untrained=True, seed=int(seed))
        print(
            f"bliss: warning: {name} has RANDOM weights (untrained); its embeddings mean nothing about images or text.",
            file=sys.stderr,
        )
    elif os.path.isfile(os.path.expanduser(pretrained)):
        checkpoint = os.path.expanduser(pretrained)
        meta.update(pretrained=os.path.basename(checkpoint), weights_sha256=file_sha256(checkpoint))
    else:
        tag_cfg = open_clip.get_pretrained_cfg(name, pretrained)
        if not tag_cfg:
            if os.sep in pretrained or pretrained.endswith((".pt", ".pth", ".bin", ".safetensors", ".ckpt")):
                raise ModelLoadError(f"{pretrained}: no such weights file.")
            tags = ", ".join(open_clip.list_pretrained_tags_by_model(name)) or "none"
            raise ModelLoadError(
                f"unknown pretrained tag '{pretrained}' for {name} (known: {tags}); pass a tag, a weights file or 'random'."
            )
        checkpoint = _fetch_weights(name, pretrained, tag_cfg, cache_dir)
        meta["weights_id"] = f"{pretrained}:{os.path.basename(checkpoint)}"
        kwargs["force_quick_gelu"] = bool(tag_cfg.get("quick_gelu", False))
        for src, dst in (
            ("mean", "image_mean"),
            ("std", "image_std"),
            ("interpolation", "image_interpolation"),
            ("resize_mode", "image_resize_mode"),
        ):
            if src in tag_cfg:
                kwargs[dst] = tag_cfg[src]
    if preprocess == "paper":
        kwargs["image_mean"], kwargs["image_std"] = PAPER_MEAN, PAPER_STD

    try:
        if checkpoint is None:
            torch.manual_seed(int(seed))
        with _quiet_open_clip_logs():
            model, _, preprocess_fn = open_clip.create_model_and_transforms(
                name, pretrained=checkpoint, device="cpu", cache_dir=cache_dir, **kwargs
            )
    except ModelLoadError:
        raise
    except Exception as exc:
        what = checkpoint if checkpoint else name
        raise ModelLoadError(f"{what}: could not be loaded as {name} weights ({first_line(exc)}).") from None
    model.eval()
    if meta["untrained"]:
        meta["weights_id"] = f"random:seed={seed}:{weights_fingerprint(model)[:16]}"
    model, autocast_dtype, precision = place_model(model, dev, precision)
    meta["preprocessing"] = _preprocess_description(model, preprocess)
    meta["device"] = dev
    meta["precision"] = precision
    meta["backend"] = "open_clip"
    meta["open_clip_version"] = getattr(open_clip, "__version__", "")
    tokenizer = open_clip.get_tokenizer(name)
    return LoadedModel(
        name=name,
        model=model,
        preprocess=preprocess_fn,
        tokenizer=tokenizer,
        device=dev,
        precision=precision,
        autocast_dtype=autocast_dtype,
        meta=meta,
    )


class _BelowError(logging.Filter):
    """Drops records under ERROR that open_clip's own modules emit."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or "open_clip" not in record.pathname


@contextlib.contextmanager
def _quiet_open_clip_logs() -> Iterator[None]:
    """Silence open_clip's info and warning records (it logs "initialized randomly" and the
    like on the root logger) while a model is built, without changing any logger's level."""
    quiet = _BelowError()
    root = logging.getLogger()
    # The root logger sees open_clip's direct logging.info() calls; its handlers (and the
    # last-resort handler) see records propagated from open_clip's module loggers.
    targets = [root, *root.handlers, *([logging.lastResort] if logging.lastResort else [])]
    for t in targets:
        t.addFilter(quiet)
    try:
        yield
    finally:
        for t in targets:
            t.removeFilter(quiet)


def _encode_tokens(loaded: LoadedModel, tokens: Any) -> Any:
    """Text features: ``model.encode_text`` with the padding past the longest prompt skipped.

    open_clip's ``CLIP.encode_text`` always runs the full 77-token context. With a causal mask
    and end-of-text pooling, positions after a prompt's end token cannot change its features,
    so trimming the context to the longest prompt gives the same result (a test compares the
    two) at a sixth of the cost for dictionary-sized batches (BENCHMARKS.md). Other text towers
    use ``encode_text`` as it is.
    """
    import open_clip
    from open_clip.transformer import text_global_pool

    m = loaded.model
    if (
        type(m) is open_clip.model.CLIP
        and getattr(m, "text_pool_type", "argmax") == "argmax"
        and getattr(m, "attn_mask", None) is not None
    ):
        length = int(tokens.argmax(dim=-1).max().item()) + 1
        tokens = tokens[:, :length]
        cast_dtype = m.transformer.get_cast_dtype()
        x = m.token_embedding(tokens).to(cast_dtype)
        x = x + m.positional_embedding[:length].to(cast_dtype)
        x = m.transformer(x, attn_mask=m.attn_mask[:length, :length])
        x = text_global_pool(m.ln_final(x), tokens, "argmax")
        if m.text_projection is not None:
            x = m.text_projection(x) if hasattr(m.text_projection, "weight") else x @ m.text_projection
        return x
    return m.encode_text(tokens)


def encode_texts(
    loaded: LoadedModel,
    texts: Sequence[str],
    template: str = DEFAULT_PROMPT,
    batch_size: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Embed ``template`` filled with each text; float32 rows of unit length. ``template`` may
    name a prompt ensemble (:mod:`bliss_core.embed.prompts`): the normalised mean over its templates."""
    import torch

    from .prompts import ensemble_mean, resolve_prompt

    templates = resolve_prompt(template).templates  # progress counts text passes over all of them
    if not len(texts):
        dim = int(getattr(loaded.model, "embed_dim", 0) or 0)
        return np.zeros((0, dim), dtype=np.float32)
    n, step, total = len(texts), max(1, int(batch_size)), len(texts) * len(templates)
    per_template: list[np.ndarray] = []
    with torch.inference_mode(), loaded.autocast():
        for t, tpl in enumerate(templates):
            prompts = [fill_prompt(tpl, str(x)) for x in texts]
            out: list[np.ndarray] = []
            for i in range(0, n, step):
                feats = torch.nn.functional.normalize(
                    loaded.text_features(prompts[i : i + step]).float(), dim=-1
                )
                out.append(feats.cpu().numpy().astype(np.float32))
                if progress:
                    progress(t * n + min(i + step, n), total)
            per_template.append(np.concatenate(out, axis=0))
    return ensemble_mean(np.stack(per_template))


def encode_images(loaded: LoadedModel, batch: Any) -> np.ndarray:
    """Embed a preprocessed image tensor batch [N,3,H,W]; float32 rows of unit length."""
    import torch

    dtype = next(loaded.model.parameters()).dtype  # fp16/bf16 weights take inputs of their type
    with torch.inference_mode(), loaded.autocast():
        pixels = batch.to(loaded.device, dtype=dtype, non_blocking=True)
        feats = torch.nn.functional.normalize(loaded.image_features(pixels).float(), dim=-1)
    return feats.cpu().numpy().astype(np.float32)
