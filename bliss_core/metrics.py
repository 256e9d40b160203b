"""Detection metrics with anomalies as the positive class.

The curves are computed here in numpy, following scikit-learn's algorithms step for step
(``roc_curve`` with ``drop_intermediate=True``, trapezoidal ``auc``, step-wise
``average_precision_score``), so the numbers are the same as scikit-learn's while
``bliss evaluate`` never pays the ~1-2 s it takes to import scikit-learn. One stable sort of
the scores serves the ROC curve, AUROC, AUPR and FPR@95 together.
"""

from __future__ import annotations

import numpy as np


class MetricError(ValueError):
    """The labels make a metric undefined (e.g. no anomalies in the test set)."""


def _check(is_anomaly: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(is_anomaly, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise MetricError(f"labels and scores must be 1-D and equally long, got {y.shape} and {s.shape}.")
    n_anom = int(y.sum())
    if n_anom == 0:
        raise MetricError("the test set has no anomalies, so AUROC is undefined; choose fewer normal classes.")
    if n_anom == y.size:
        raise MetricError("the test set has no normal images, so AUROC is undefined; choose a normal class that has test images.")
    if not np.all(np.isfinite(s)):
        raise MetricError("scores contain NaN or infinite values.")
    return y, s


def _counts(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fps, tps, thresholds) at each distinct score, highest score first (sklearn's binary curve)."""
    order = np.argsort(s, kind="stable")[::-1]
    s_sorted = s[order]
    distinct = np.flatnonzero(np.diff(s_sorted))
    idx = np.r_[distinct, y.size - 1]
    tps = np.cumsum(y[order], dtype=np.float64)[idx]
    fps = 1 + idx.astype(np.float64) - tps
    return fps, tps, s_sorted[idx]


def _roc_from_counts(fps: np.ndarray, tps: np.ndarray, thr: np.ndarray):
    if fps.shape[0] > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps, thr = fps[keep], tps[keep], thr[keep]
    tps = np.r_[0.0, tps]
    fps = np.r_[0.0, fps]
    thr = np.r_[np.inf, thr.astype(np.float64)]
    return fps / fps[-1], tps / tps[-1], thr


def _auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    # trapezoid rule exactly as scipy.integrate.trapezoid computes it (fpr is non-decreasing)
    d = np.diff(fpr)
    return float(np.add.reduce(d * (tpr[1:] + tpr[:-1]) / 2.0))


def _ap_from_counts(fps: np.ndarray, tps: np.ndarray) -> float:
    ps = tps + fps
    precision = np.divide(tps, ps, out=np.zeros_like(tps), where=ps != 0)
    recall = tps / tps[-1]
    precision = np.r_[precision[::-1], 1.0]
    recall = np.r_[recall[::-1], 0.0]
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def _fpr_at(fpr: np.ndarray, tpr_curve: np.ndarray, tpr: float) -> float:
    return float(fpr[np.searchsorted(tpr_curve, tpr, side="left")])


def auroc(is_anomaly: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; 1.0 means every anomaly scores above every normal image."""
    y, s = _check(is_anomaly, scores)
    fpr, tpr, _ = _roc_from_counts(*_counts(y, s))
    return _auc(fpr, tpr)


def aupr(is_anomaly: np.ndarray, scores: np.ndarray) -> float:
    """Average precision with anomalies positive."""
    y, s = _check(is_anomaly, scores)
    fps, tps, _ = _counts(y, s)
    return _ap_from_counts(fps, tps)


def fpr_at_tpr(is_anomaly: np.ndarray, scores: np.ndarray, tpr: float = 0.95) -> float:
    """Fraction of normal images flagged when the threshold catches ``tpr`` of the anomalies."""
    y, s = _check(is_anomaly, scores)
    fpr, tpr_curve, _ = _roc_from_counts(*_counts(y, s))
    return _fpr_at(fpr, tpr_curve, tpr)


def detection_metrics(is_anomaly: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """AUROC, AUPR and FPR at 95% TPR from one sort of the scores."""
    y, s = _check(is_anomaly, scores)
    fps, tps, thr = _counts(y, s)
    fpr, tpr, _ = _roc_from_counts(fps, tps, thr)
    return {"auroc": _auc(fpr, tpr), "aupr": _ap_from_counts(fps, tps), "fpr95": _fpr_at(fpr, tpr, 0.95)}


def roc_points(is_anomaly: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) of the ROC curve, for plotting (as ``sklearn.metrics.roc_curve``)."""
    y, s = _check(is_anomaly, scores)
    return _roc_from_counts(*_counts(y, s))
