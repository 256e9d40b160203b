"""The torch scoring backend: the kernels of :mod:`bliss_core.core.kernels` on a torch device.

The heavy parts of scoring (test x dictionary similarities and their top K, the per-class
statistics, the kNN baseline's neighbours) run in blocks of rows on the device: float32
products, float64 for the statistics that numpy also takes in float64, results handed back as
numpy arrays, so the scorers, ``evaluate`` and ``LiveScoring`` need no other change. On CPU
tensors it gives the numpy path's AUROCs (tests); on a CUDA GPU it is what ``--device cuda``
runs. TF32 is left off: products are true float32, as numpy's.

:func:`auto_backend` picks the backend for ``--device auto|cpu|cuda`` (and the app's
``BLISS_DEVICE``): numpy on the CPU, this on a GPU. Deciding "no GPU" imports no torch: only
when there may be one (``nvidia-smi`` on the PATH, or ``/dev/nvidia0``) is torch asked, so
``bliss evaluate`` on a CPU-only machine stays free of torch. Importing this module imports
no torch either; :class:`TorchKernels` does, when it is made.
"""

from __future__ import annotations

import os
import shutil
import warnings
from typing import Any

import numpy as np

from .. import settings
from ..core.kernels import ClassStats, index_dtype, register_backend, row_blocks
from ..errors import DeviceError, ScoringError

__all__ = ["DEVICES", "GPU_BLOCK_BYTES", "TorchKernels", "auto_backend", "cuda_available", "gpu_hint"]

#: What ``--device`` accepts for scoring.
DEVICES = ("auto", "cpu", "cuda")
#: Bytes of one block's similarity matrix on a GPU (bigger blocks keep a GPU busy; a CPU
#: device uses the numpy path's :data:`~bliss_core.core.kernels.BLOCK_BYTES`).
GPU_BLOCK_BYTES = 512 * 1024**2
_GPU_NODES = ("/dev/nvidia0", "/dev/nvidiactl")


def gpu_hint() -> bool:
    """Whether this machine may have an NVIDIA GPU, decided without importing torch."""
    return shutil.which("nvidia-smi") is not None or any(os.path.exists(p) for p in _GPU_NODES)


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU; torch is imported only when :func:`gpu_hint` says there
    may be one."""
    if not gpu_hint():
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def auto_backend(device: str | None = None) -> Any:
    """The scoring backend for ``device``: ``"numpy"`` for ``cpu`` (and for ``auto`` without a
    GPU), a :class:`TorchKernels` on the GPU for ``cuda`` / ``cuda:N`` (and ``auto`` with one).
    None reads ``BLISS_DEVICE`` (default ``auto``): what the app calls.

    Pass the result as ``backend=`` to a scorer, :func:`~bliss_core.core.evaluate.evaluate` or
    :class:`~bliss_core.core.live.LiveScoring`. ``cuda`` without a GPU raises
    :class:`DeviceError` in one sentence.
    """
    if device is None:
        device = settings.get("BLISS_DEVICE")
    dev = str(device or "auto").strip().lower()
    if dev == "cpu":
        return "numpy"
    if dev == "auto":
        return TorchKernels("cuda") if cuda_available() else "numpy"
    if dev == "cuda" or (dev.startswith("cuda:") and dev[5:].isdigit()):
        if not cuda_available():
            raise DeviceError(
                "--device cuda was requested but no CUDA GPU is available here; use --device auto or cpu."
            )
        return TorchKernels(dev)
    raise DeviceError(f"unknown device {device!r}; use {', '.join(DEVICES)}.")


class TorchKernels:
    """The kernels interface on a torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, or
    ``"auto"``: the GPU when there is one). Inputs are numpy arrays (memory-mapped float16
    included), read block by block; outputs are numpy arrays as :class:`NumpyKernels` gives."""

    name = "torch"

    def __init__(self, device: str = "auto", block_bytes: int | None = None) -> None:
        import torch

        dev = str(device or "auto").lower()
        if dev == "auto":
            dev = "cuda" if torch.cuda.is_available() else "cpu"
        if dev.startswith("cuda") and not torch.cuda.is_available():
            raise DeviceError(
                "--device cuda was requested but no CUDA GPU is available here; use --device auto or cpu."
            )
        self.torch = torch
        self.device = torch.device(dev)
        self.block_bytes = block_bytes or (GPU_BLOCK_BYTES if self.device.type == "cuda" else None)

    def __repr__(self) -> str:
        return f"TorchKernels(device={str(self.device)!r})"

    # -- moving rows ---------------------------------------------------------------------------
    def _unit(self, x: Any) -> Any:
        """Rows of ``x`` on the device as float32 unit rows (float16 travels as float16)."""
        arr = np.asarray(x)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.dtype not in (np.float16, np.float32):
            arr = arr.astype(np.float32)
        with warnings.catch_warnings():  # read-only (memory-mapped) rows: the tensor is never written
            warnings.simplefilter("ignore", UserWarning)
            t = self.torch.from_numpy(np.ascontiguousarray(arr))
        t = t.to(self.device, non_blocking=True).float()
        sq = (t * t).sum(dim=1)
        if not bool(self.torch.isfinite(sq).all()):
            # float32 squares can overflow for huge but finite values: take them in float64
            sq64 = (t.double() ** 2).sum(dim=1)
            if not bool(self.torch.isfinite(sq64).all()):
                raise ScoringError("an embedding has zero length or non-finite values and cannot be scored.")
            return (t.double() / sq64.sqrt()[:, None]).float()
        if bool((sq <= 0).any()):
            raise ScoringError("an embedding has zero length or non-finite values and cannot be scored.")
        return t / sq.sqrt()[:, None]

    def _blocks(self, n: int, width: int):
        return row_blocks(n, width, 4, self.block_bytes)

    def _numpy(self, t: Any, dtype: Any) -> np.ndarray:
        return t.detach().to("cpu").numpy().astype(dtype, copy=False)

    # -- the interface -------------------------------------------------------------------------
    def class_stats(self, ref, labels, classes, class_text, dict_text, eps) -> ClassStats:
        """Per-class label and dictionary statistics (see :meth:`NumpyKernels.class_stats`):
        centred float32 rows, a float64 covariance factor, float32 products, float64 sums."""
        torch = self.torch
        labels = np.asarray(labels)
        text = self._unit(class_text)
        dict32 = self._unit(dict_text)
        dict64 = dict32.double()
        n_c, m = len(classes), dict32.shape[0]
        mu, sd = np.empty(n_c), np.empty(n_c)
        means = torch.empty((n_c, dict32.shape[1]), dtype=torch.float64, device=self.device)
        dict_sd = np.empty((n_c, m))
        ref = np.asarray(ref)
        for i, c in enumerate(classes):
            r = self._unit(ref[labels == c])
            mean = r.double().mean(dim=0)
            means[i] = mean
            centred = r - mean.float()
            s = (centred @ text[int(c)]).double() + mean @ text[int(c)].double()
            mu[i] = float(s.mean())
            sd[i] = float(s.std(unbiased=False)) + eps
            n, d = centred.shape
            if n <= d:
                factor = centred.T / float(np.sqrt(n))
            else:
                cov = (centred.T @ centred).double() / n
                factor, info = torch.linalg.cholesky_ex(cov)
                if int(info) != 0:
                    w, v = torch.linalg.eigh(cov)
                    factor = v * w.clamp(min=0).sqrt()
                factor = factor.float()
            var = np.empty(m)
            for blk in self._blocks(m, factor.shape[1]):
                p = dict32[blk] @ factor
                var[blk] = self._numpy((p.double() ** 2).sum(dim=1), np.float64)
            dict_sd[i] = np.sqrt(var) + eps
        dict_mu = self._numpy(means @ dict64.T, np.float64)
        return ClassStats(mu=mu, sd=sd, dict_mu=dict_mu, dict_sd=dict_sd)

    def top_similar(self, X, texts, k):
        """Each row's ``k`` most similar texts, most similar first ([N, k] int32 and float32)."""
        tt = self._unit(texts).T.contiguous()
        m, n = tt.shape[1], X.shape[0]
        idx = np.empty((n, k), dtype=index_dtype(m))
        sim = np.empty((n, k), dtype=np.float32)
        for blk in self._blocks(n, m):
            vals, pos = self.torch.topk(self._unit(X[blk]) @ tt, k, dim=1, largest=True, sorted=True)
            idx[blk] = self._numpy(pos, idx.dtype)
            sim[blk] = self._numpy(vals, np.float32)
        return idx, sim

    def top_similar_and_similarities(self, X, texts, k, others):
        """:meth:`top_similar` and :meth:`similarities` (float32) in one pass over ``X``."""
        tt = self._unit(texts).T.contiguous()
        ot = self._unit(others).T.contiguous()
        m, n = tt.shape[1], X.shape[0]
        idx = np.empty((n, k), dtype=index_dtype(m))
        sim = np.empty((n, k), dtype=np.float32)
        other = np.empty((n, ot.shape[1]), dtype=np.float32)
        for blk in self._blocks(n, m):
            xb = self._unit(X[blk])
            vals, pos = self.torch.topk(xb @ tt, k, dim=1, largest=True, sorted=True)
            idx[blk] = self._numpy(pos, idx.dtype)
            sim[blk] = self._numpy(vals, np.float32)
            other[blk] = self._numpy(xb @ ot, np.float32)
        return idx, sim, other

    def similarities(self, X, texts):
        """[N, T] similarities (float32 products, float64 out)."""
        tt = self._unit(texts).T.contiguous()
        out = np.empty((X.shape[0], tt.shape[1]), dtype=np.float64)
        for blk in self._blocks(X.shape[0], max(tt.shape[1], 64)):
            out[blk] = self._numpy(self._unit(X[blk]) @ tt, np.float64)
        return out

    def nearest(self, X, ref, k):
        """Each row's ``k`` largest similarities to the rows of ``ref`` (float64, in no
        particular order), for the kNN baseline."""
        rt = self._unit(ref).T.contiguous()
        kk = min(int(k), rt.shape[1])
        out = np.empty((X.shape[0], kk), dtype=np.float64)
        for blk in self._blocks(X.shape[0], rt.shape[1]):
            vals = self.torch.topk(self._unit(X[blk]) @ rt, kk, dim=1, largest=True, sorted=False).values
            out[blk] = self._numpy(vals, np.float64)
        return out


register_backend("torch", TorchKernels)
