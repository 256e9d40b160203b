"""Measurements of the text clustering effect (numbers only; figures live in ``analysis.figures``).

All inputs are L2-normalised embeddings. Means of pairwise cosine similarities are computed
exactly from sums (for unit vectors, sum_{i != j} a_i . a_j = |sum a|^2 - n), so they cost
O(N D) instead of O(N^2 D).
"""

from __future__ import annotations

import numpy as np

from ..errors import MetricError
from .vectors import unit_rows

__all__ = [
    "avg_dict_similarity",
    "bundle_clustering_stats",
    "clustering_stats",
    "confusion_at",
    "dictionary_similarities",
    "error_dict_similarity_correlation",
    "error_rates_by_dict_similarity",
    "mean_pairwise_similarity",
    "threshold_at_tpr",
]


_BLOCK_ROWS = 65536


def _unit_sum(x: np.ndarray) -> tuple[np.ndarray, int]:
    """(sum of the rows made unit length, in float64; number of rows), in blocks of rows, so a
    memory-mapped bundle is never copied whole."""
    n = x.shape[0]
    total = np.zeros(x.shape[1], dtype=np.float64)
    for start in range(0, n, _BLOCK_ROWS):
        total += unit_rows(x[start : start + _BLOCK_ROWS], dtype=np.float64).sum(axis=0)
    return total, n


def _within(s: np.ndarray, n: int) -> float:
    return float((s @ s - n) / (n * (n - 1))) if n >= 2 else float("nan")


def mean_pairwise_similarity(a: np.ndarray, b: np.ndarray | None = None) -> float:
    """Mean cosine similarity over all pairs within ``a`` (i != j), or across ``a`` x ``b``."""
    sa, n = _unit_sum(a)
    if b is None:
        return _within(sa, n)
    sb, m = _unit_sum(b)
    return float(sa @ sb / (n * m))


def clustering_stats(image_emb: np.ndarray, text_emb: np.ndarray) -> dict[str, float]:
    """Text clustering statistics: within-text, within-image and cross-modal mean similarity,
    and the modality gap |mean image embedding - mean text embedding|; one pass over each."""
    sa, n = _unit_sum(image_emb)
    st, m = _unit_sum(text_emb)
    return {
        "text_text": _within(st, m),
        "image_image": _within(sa, n),
        "image_text": float(sa @ st / (n * m)),
        "modality_gap": float(np.linalg.norm(sa / n - st / m)),
        "n_images": int(n),
        "n_texts": int(m),
    }


def bundle_clustering_stats(bundle, include_dictionary: bool = True) -> dict[str, float]:
    """:func:`clustering_stats` of all of a bundle's images against its label (and dictionary) texts."""
    texts = bundle.class_text_emb
    if include_dictionary:
        texts = np.vstack([bundle.class_text_emb, bundle.dict_text_emb])
    return clustering_stats(bundle.image_emb, texts)


def avg_dict_similarity(emb: np.ndarray, dict_text_emb: np.ndarray) -> np.ndarray:
    """Each row's mean cosine similarity to all dictionary entries (= row . mean entry), in
    blocks of rows (``emb`` may be memory-mapped or a :class:`~bliss_core.core.kernels.RowSubset`)."""
    mean_entry = unit_rows(dict_text_emb, dtype=np.float64).mean(axis=0)
    n = emb.shape[0] if np.ndim(emb) == 2 else 1
    out = np.empty(n, dtype=np.float64)
    step = _BLOCK_ROWS
    for start in range(0, n, step):
        block = emb[start : start + step] if np.ndim(emb) == 2 else emb
        out[start : start + step] = unit_rows(block, dtype=np.float64) @ mean_entry
    return out


def dictionary_similarities(emb: np.ndarray, dict_text_emb: np.ndarray) -> np.ndarray:
    """All similarities of ``emb`` rows to the dictionary entries, flattened (for histograms)."""
    return (np.asarray(emb, np.float32) @ np.asarray(dict_text_emb, np.float32).T).ravel()


def threshold_at_tpr(is_anomaly: np.ndarray, scores: np.ndarray, tpr: float = 0.95) -> float:
    """The lowest score threshold that flags at least ``tpr`` of the anomalies."""
    y = np.asarray(is_anomaly, bool)
    anom = np.asarray(scores, float)[y]
    if anom.size == 0:
        raise MetricError("there are no anomalies to set a threshold on.")
    k = min(int(np.floor((1.0 - tpr) * anom.size)), anom.size - 1)
    return float(np.partition(anom, k)[k])  # the k-th smallest: no full sort on the slider path


def confusion_at(is_anomaly: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
    """Indices of false positives (normal, flagged) and false negatives (anomaly, missed),
    most confident mistakes first; an image is flagged when its score >= threshold."""
    y = np.asarray(is_anomaly, bool)
    s = np.asarray(scores, float)
    flagged = s >= threshold
    fp = np.flatnonzero(~y & flagged)
    fn = np.flatnonzero(y & ~flagged)
    return {
        "false_positives": fp[np.argsort(-s[fp], kind="stable")],
        "false_negatives": fn[np.argsort(s[fn], kind="stable")],
        "n_flagged": int(flagged.sum()),
    }


def error_rates_by_dict_similarity(
    avg_sim: np.ndarray,
    is_anomaly: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    n_bins: int = 10,
) -> dict[str, list]:
    """False-negative rate (among anomalies) and false-positive rate (among normal images) in
    quantile bins of average dictionary similarity: the paper's evidence of the bias."""
    sim = np.asarray(avg_sim, float)
    y = np.asarray(is_anomaly, bool)
    flagged = np.asarray(scores, float) >= threshold
    edges = np.unique(np.quantile(sim, np.linspace(0, 1, n_bins + 1)))
    which = np.clip(np.searchsorted(edges, sim, side="right") - 1, 0, len(edges) - 2)
    centers, fnr, fpr, n_anom, n_norm = [], [], [], [], []
    for b in range(len(edges) - 1):
        in_bin = which == b
        a = in_bin & y
        n = in_bin & ~y
        centers.append(float(sim[in_bin].mean()) if in_bin.any() else float((edges[b] + edges[b + 1]) / 2))
        fnr.append(float((~flagged[a]).mean()) if a.any() else None)
        fpr.append(float(flagged[n].mean()) if n.any() else None)
        n_anom.append(int(a.sum()))
        n_norm.append(int(n.sum()))
    return {
        "bin_center": centers,
        "bin_edges": edges.tolist(),
        "fn_rate": fnr,
        "fp_rate": fpr,
        "n_anomalies": n_anom,
        "n_normal": n_norm,
        "threshold": float(threshold),
    }


def error_dict_similarity_correlation(rates: dict[str, list]) -> dict[str, float]:
    """Spearman-like sign check: does FN rate rise and FP rate fall with dictionary similarity?"""
    out = {}
    for key in ("fn_rate", "fp_rate"):
        pairs = [(c, r) for c, r in zip(rates["bin_center"], rates[key]) if r is not None]
        if len(pairs) < 3:
            out[key] = float("nan")
            continue
        c, r = np.array(pairs).T
        if np.std(r) == 0:
            out[key] = 0.0
            continue
        out[key] = float(np.corrcoef(np.argsort(np.argsort(c)), np.argsort(np.argsort(r)))[0, 1])
    return out
