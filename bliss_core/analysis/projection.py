"""2-D projections (PCA, t-SNE, UMAP) of joint image + text embeddings, cached by content.

How they are computed (timings are in ``BENCHMARKS.md``):

* t-SNE reduces the (L2-normalised) points to 50 PCA dimensions first (on unit vectors squared
  euclidean distance is 2 - 2 cos, so this keeps the cosine geometry), then runs openTSNE's
  FFT-accelerated t-SNE (exact 90-neighbour affinities, PCA initialisation, 125 early
  exaggeration + 250 normal iterations). scikit-learn's Barnes-Hut t-SNE is the fallback when
  openTSNE is not installed.
* UMAP gets exact cosine neighbours from scikit-learn's brute-force search (instead of
  pynndescent's approximate search and its compilation), ``init="pca"`` (the spectral
  initialisation is slow on thousands of points) and 200 epochs. Its numba functions are
  compiled on the first call in a process: :func:`warm_up` pays that in a background thread,
  and results are also cached on disk.

Every result is cached twice, keyed by the SHA-256 of the points and the parameters: in memory
(bounded, least recently used first) and on disk under ``$BLISS_PROJECTION_CACHE`` or else
``$BLISS_CACHE_DIR/projections`` or ``~/.cache/bliss-lab/projections`` (bounded too; set
``BLISS_PROJECTION_CACHE=off`` to disable it). Revisiting a page, or opening it in a new
process, costs a hash of the points and one small file read.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from .. import settings
from ..core.vectors import unit_rows
from ..errors import ProjectionError
from ..files import atomic_write

__all__ = ["METHODS", "disk_cache_dir", "project", "projection_key", "warm_up"]

METHODS = ("pca", "tsne", "umap")
_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_ENTRIES = 16  # bounded: many sessions must not exhaust memory
CACHE_BYTES = 64 * 1024**2
#: Bump when the computation changes so stale files on disk are not reused.
ALGO_VERSION = 3


def projection_key(points: np.ndarray, method: str, params: dict[str, Any]) -> str:
    """Content hash of the points and the parameters."""
    h = hashlib.sha256()
    arr = np.ascontiguousarray(points, dtype=np.float32)
    h.update(str(arr.shape).encode())
    h.update(arr.tobytes())
    h.update(method.encode())
    h.update(json.dumps({"_v": ALGO_VERSION, **params}, sort_keys=True, default=str).encode())
    return h.hexdigest()


def disk_cache_dir() -> Path | None:
    """Folder of the on-disk projection cache, or None when it is disabled."""
    env = settings.get("BLISS_PROJECTION_CACHE")
    if env:
        if env.strip().lower() in ("0", "off", "false", "no"):
            return None
        return Path(env).expanduser()
    root = settings.get("BLISS_CACHE_DIR")
    return (Path(root).expanduser() if root else settings.home_cache()) / "projections"


def _disk_get(key: str) -> np.ndarray | None:
    folder = disk_cache_dir()
    if folder is None:
        return None
    path = folder / f"{key}.npy"
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.dtype != np.float32 or not np.all(np.isfinite(arr)):
        try:
            path.unlink()
        except OSError:
            pass
        return None
    try:
        os.utime(path)  # least-recently-used order for pruning
    except OSError:
        pass
    return arr


def _disk_put(key: str, coords: np.ndarray) -> None:
    folder = disk_cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(folder / f"{key}.npy") as fh:
            np.save(fh, coords, allow_pickle=False)
        files = sorted(folder.glob("*.npy"), key=lambda p: p.stat().st_mtime)
        for old in files[: max(0, len(files) - settings.get("BLISS_PROJECTION_CACHE_FILES"))]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only or full disk only costs the cache


def _cosine_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours (self included) by cosine distance, nearest first.

    scikit-learn's brute-force search with the Euclidean metric on unit rows: the same
    neighbours as cosine (|a - b|^2 = 2 - 2 cos), at a third of the time of metric="cosine".
    """
    from sklearn.neighbors import NearestNeighbors

    z = unit_rows(x, zero="keep")
    dist, idx = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(z).kneighbors(z)
    return idx.astype(np.int64), np.maximum(dist.astype(np.float32) ** 2 / 2.0, 0.0)


def _have_opentsne() -> bool:
    import importlib.util

    return importlib.util.find_spec("openTSNE") is not None


def warm_up(methods: tuple[str, ...] = ("umap",), background: bool = True) -> threading.Thread | None:
    """Pay the imports and numba compilation of ``methods`` now (on a few random points).

    UMAP's numba functions compile on the first call in every process (~20-30 s on a
    2-core machine); an app can call this at start-up so the first real projection does not
    wait for it. Returns the thread when ``background``.
    """

    def work() -> None:
        rng = np.random.default_rng(0)
        pts = rng.standard_normal((300, 8)).astype(np.float32)
        for m in methods:
            try:
                _compute(pts, m, 0, {"n_epochs": 10, "max_iter": 250} if m != "pca" else {})
            except Exception:
                pass

    if not background:
        work()
        return None
    t = threading.Thread(target=work, name="bliss-projection-warm-up", daemon=True)
    t.start()
    return t


def _compute(points: np.ndarray, method: str, seed: int, params: dict[str, Any]) -> np.ndarray:
    x = np.asarray(points, dtype=np.float32)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method == "tsne":
        perplexity = float(params.get("perplexity", 30.0))
        perplexity = min(perplexity, max(2.0, (x.shape[0] - 1) / 3.0))
        pca_dims = int(params.get("pca_dims", 50))
        z = unit_rows(x, zero="keep")
        if 0 < pca_dims < min(z.shape):
            from sklearn.decomposition import PCA

            z = PCA(n_components=pca_dims, random_state=seed).fit_transform(z).astype(np.float32)
        if _have_opentsne() and params.get("impl", "auto") in ("auto", "opentsne"):
            from openTSNE import TSNE as OpenTSNE

            n_iter = int(params.get("max_iter", 375))  # total, as sklearn counts: exaggeration + the rest
            early = min(125, max(1, n_iter // 3))
            return np.asarray(
                OpenTSNE(
                    n_components=2,
                    perplexity=perplexity,
                    initialization="pca",
                    neighbors="exact" if z.shape[0] <= 30000 else "auto",
                    negative_gradient_method="auto",  # FFT from 10,000 points, Barnes-Hut below
                    early_exaggeration_iter=early,
                    n_iter=max(1, n_iter - early),
                    n_jobs=1,
                    random_state=seed,
                ).fit(z)
            )
        from sklearn.manifold import TSNE

        return TSNE(
            n_components=2,
            perplexity=perplexity,
            init="pca",
            learning_rate="auto",
            metric="euclidean",
            random_state=seed,
            max_iter=max(250, int(params.get("max_iter", 500))),
        ).fit_transform(z)
    if method == "umap":
        with warnings.catch_warnings():  # its import notes that TensorFlow (ParametricUMAP) is absent
            warnings.filterwarnings("ignore", category=ImportWarning, module=r"umap(\.|$)")
            import umap

        n_neighbors = int(min(params.get("n_neighbors", 15), max(2, x.shape[0] - 1)))
        init = str(params.get("init", "pca"))
        if x.shape[0] <= n_neighbors + 2:
            init = "random"
        kwargs: dict[str, Any] = {}
        if x.shape[0] <= 30000:
            # Exact cosine neighbours from scikit-learn: they spare pynndescent's approximate
            # search and its numba compilation.
            kwargs["precomputed_knn"] = (*_cosine_knn(x, n_neighbors), None)
        # UMAP warns that a seed means one thread (n_jobs=1 says so up front) and that exact
        # neighbours leave it without a search index for transform() (never called here). Its
        # UserWarnings are silenced for this call only, not for the process.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"umap(\.|$)")
            return umap.UMAP(
                n_components=2,
                n_neighbors=n_neighbors,
                min_dist=float(params.get("min_dist", 0.1)),
                metric="cosine",
                init=init,
                n_epochs=int(params.get("n_epochs", 200)),
                random_state=seed,
                n_jobs=1,
                **kwargs,
            ).fit_transform(x)
    raise ProjectionError(f"unknown projection method {method!r}; choose one of {', '.join(METHODS)}.")


def _remember(key: str, coords: np.ndarray) -> None:
    with _CACHE_LOCK:
        _CACHE[key] = coords
        _CACHE.move_to_end(key)
        while len(_CACHE) > CACHE_ENTRIES or (
            len(_CACHE) > 1 and sum(a.nbytes for a in _CACHE.values()) > CACHE_BYTES
        ):
            _CACHE.popitem(last=False)


def project(points: np.ndarray, method: str = "pca", seed: int = 0, **params: Any) -> np.ndarray:
    """[N, 2] coordinates of ``points`` by ``method`` (pca, tsne or umap).

    Results are cached in memory and on disk by content and parameters, so revisiting a page
    (or reopening the app) is instant. The returned array is read-only; copy it to modify it.
    """
    if method not in METHODS:
        raise ProjectionError(f"unknown projection method {method!r}; choose one of {', '.join(METHODS)}.")
    if len(points) < 3:
        raise ProjectionError("a projection needs at least three points.")
    key = projection_key(points, method, {"seed": seed, **params})
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    coords = _disk_get(key) if method != "pca" else None
    if coords is None or coords.shape[0] != len(points):
        coords = np.asarray(_compute(points, method, seed, params), dtype=np.float32)
        if method != "pca":
            _disk_put(key, coords)
    coords.setflags(write=False)
    _remember(key, coords)
    return coords
