"""2-D projections (PCA, t-SNE, UMAP) of joint image + text embeddings, cached by content."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

METHODS = ("pca", "tsne", "umap")
_CACHE: "OrderedDict[str, np.ndarray]" = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_ENTRIES = 16  # bounded: many sessions must not exhaust memory


def projection_key(points: np.ndarray, method: str, params: dict[str, Any]) -> str:
    """Content hash of the points and the parameters."""
    h = hashlib.sha256()
    arr = np.ascontiguousarray(points, dtype=np.float32)
    h.update(str(arr.shape).encode())
    h.update(arr.tobytes())
    h.update(method.encode())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _compute(points: np.ndarray, method: str, seed: int, params: dict[str, Any]) -> np.ndarray:
    x = np.asarray(points, dtype=np.float32)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(params.get("perplexity", 30.0))
        perplexity = min(perplexity, max(2.0, (x.shape[0] - 1) / 3.0))
        return TSNE(
            n_components=2,
            perplexity=perplexity,
            init="pca",
            learning_rate="auto",
            metric="cosine",
            random_state=seed,
            max_iter=int(params.get("max_iter", 500)),
        ).fit_transform(x)
    if method == "umap":
        import umap

        n_neighbors = int(min(params.get("n_neighbors", 15), max(2, x.shape[0] - 1)))
        return umap.UMAP(
            n_components=2,
            n_neighbors=n_neighbors,
            min_dist=float(params.get("min_dist", 0.1)),
            metric="cosine",
            random_state=seed,
        ).fit_transform(x)
    raise ValueError(f"unknown projection method {method!r}; choose one of {', '.join(METHODS)}.")


def project(points: np.ndarray, method: str = "pca", seed: int = 0, **params: Any) -> np.ndarray:
    """[N, 2] coordinates of ``points`` by ``method`` (pca, tsne or umap).

    Results are cached in memory by content and parameters, so revisiting a page is instant.
    """
    if method not in METHODS:
        raise ValueError(f"unknown projection method {method!r}; choose one of {', '.join(METHODS)}.")
    if len(points) < 3:
        raise ValueError("a projection needs at least three points.")
    key = projection_key(points, method, {"seed": seed, **params})
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    coords = np.asarray(_compute(points, method, seed, params), dtype=np.float32)
    with _CACHE_LOCK:
        _CACHE[key] = coords
        while len(_CACHE) > CACHE_ENTRIES:
            _CACHE.popitem(last=False)
    return coords
