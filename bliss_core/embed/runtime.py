"""What the open_clip and Hugging Face model paths share: placing a model on its device at a
precision, the autocast context, and the fingerprints that identify weights in the cache."""

from __future__ import annotations

import contextlib
import hashlib
import os
from typing import Any


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def weights_fingerprint(model: Any) -> str:
    """Cheap fingerprint of a model's parameters (names, shapes and leading values)."""
    import torch

    h = hashlib.sha256()
    for key, t in model.state_dict().items():
        h.update(key.encode())
        h.update(str(tuple(t.shape)).encode())
        flat = t.detach().reshape(-1)[:64].to("cpu", torch.float32).contiguous()
        h.update(flat.numpy().tobytes())
    return h.hexdigest()


def place_model(model: Any, device: str, precision: str) -> tuple[Any, Any, str]:
    """``(model, autocast_dtype, precision)``: the model moved to ``device``; ``fp16``/``bf16``
    cast its weights, ``auto`` on CUDA runs fp32 weights under bf16 (or fp16) autocast, and
    anything else is fp32. The returned precision names what was done (e.g. ``amp_bf16``)."""
    import torch

    model = model.to(device)
    if precision in ("fp16", "bf16"):
        return model.to(torch.float16 if precision == "fp16" else torch.bfloat16), None, precision
    if precision == "auto" and device.startswith("cuda"):
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return model, dtype, "amp_bf16" if dtype == torch.bfloat16 else "amp_fp16"
    return model, None, "fp32"


class InferenceModel:
    """What every loaded-model record offers the embedding code: ``text_features`` and
    ``image_features`` (each backend's own), ``untrained`` and ``autocast`` (needs ``meta``,
    ``device`` and ``autocast_dtype`` attributes)."""

    meta: dict[str, Any]
    device: str
    autocast_dtype: Any

    def text_features(self, prompts: Any) -> Any:
        """Unnormalised text embeddings of filled prompts; each backend tokenises and pools."""
        raise NotImplementedError

    def image_features(self, pixels: Any) -> Any:
        """Unnormalised image embeddings of a preprocessed batch."""
        raise NotImplementedError

    @property
    def untrained(self) -> bool:
        return bool(self.meta.get("untrained", False))

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed-precision context on GPU; a no-op on CPU."""
        import torch

        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.split(":")[0], dtype=self.autocast_dtype)
