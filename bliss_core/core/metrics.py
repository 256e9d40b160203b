"""Detection metrics with anomalies as the positive class (plain functions over scikit-learn).

scikit-learn is imported on first use, not with the package, so commands that never compute a
metric do not pay for it. Inputs are checked once here (shapes, both classes present, finite
scores), so scikit-learn's own parameter validation is skipped (``config_context``); on the
app's slider path that validation cost more than the sort itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from ..errors import MetricError

__all__ = [
    "MetricError",
    "aupr",
    "auroc",
    "detection_metrics",
    "detection_metrics_and_roc",
    "fpr_at_tpr",
    "subsample_curve",
]


def _check(is_anomaly: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(is_anomaly, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise MetricError(f"labels and scores must be 1-D and equally long, got {y.shape} and {s.shape}.")
    n_anom = int(y.sum())
    if n_anom == 0:
        raise MetricError(
            "the test set has no anomalies, so AUROC is undefined; choose fewer normal classes."
        )
    if n_anom == y.size:
        raise MetricError(
            "the test set has no normal images, so AUROC is undefined; choose a normal class that has test images."
        )
    if not np.all(np.isfinite(s)):
        raise MetricError("scores contain NaN or infinite values.")
    return y, s


@contextlib.contextmanager
def _checked() -> Iterator[None]:
    """scikit-learn without its repeated input validation (the inputs passed :func:`_check`)."""
    import sklearn

    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        yield


def auroc(is_anomaly: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; 1.0 means every anomaly scores above every normal image."""
    from sklearn.metrics import roc_auc_score

    y, s = _check(is_anomaly, scores)
    with _checked():
        return float(roc_auc_score(y, s))


def aupr(is_anomaly: np.ndarray, scores: np.ndarray) -> float:
    """Average precision with anomalies positive."""
    from sklearn.metrics import average_precision_score

    y, s = _check(is_anomaly, scores)
    with _checked():
        return float(average_precision_score(y, s))


def _curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False- and true-positive counts at every distinct threshold, highest first: scikit-learn's
    ``confusion_matrix_at_thresholds``, the step under its ROC and PR curves.

    The scores are handed over already in descending order (numpy's default sort, several times
    faster than the stable merge sort scikit-learn applies, which then finds them in order). The
    counts at each distinct threshold do not depend on the order within ties, so nothing changes
    but the time.
    """
    from sklearn.metrics import confusion_matrix_at_thresholds

    order = np.argsort(-s)
    with _checked():
        _, fps, _, tps, thresholds = confusion_matrix_at_thresholds(y[order], s[order])
    return fps, tps, thresholds


def fpr_at_tpr(is_anomaly: np.ndarray, scores: np.ndarray, tpr: float = 0.95) -> float:
    """Fraction of normal images flagged when the threshold catches ``tpr`` of the anomalies
    (at the highest threshold that does, every threshold considered)."""
    y, s = _check(is_anomaly, scores)
    fps, tps, _ = _curve(y, s)
    return float(np.r_[0.0, fps / fps[-1]][np.searchsorted(np.r_[0.0, tps / tps[-1]], tpr, side="left")])


def detection_metrics(is_anomaly: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """AUROC, AUPR and both conventions of FPR at 95% TPR.

    ``fpr95``: the fraction of normal images flagged when 95% of the anomalies are caught
    (anomalies positive, as in the paper). ``fpr95_ood``: the fraction of anomalies let through
    when 95% of the normal images are accepted (normal images positive, scored by minus the
    anomaly score: the MCM/OOD convention).
    """
    metrics, _, (fps, tps) = _metrics_roc_counts(is_anomaly, scores)
    # The same counts read the other way: at each threshold t, ascending, the normal images
    # (now positive) and the anomalies with score <= t, i.e. those flagged by minus the score.
    normal_le = (fps[-1] - np.r_[0, fps[:-1]])[::-1]
    anomaly_le = (tps[-1] - np.r_[0, tps[:-1]])[::-1]
    tpr = np.r_[0.0, normal_le / normal_le[-1]]
    metrics["fpr95_ood"] = float(
        np.r_[0.0, anomaly_le / anomaly_le[-1]][np.searchsorted(tpr, 0.95, side="left")]
    )
    return metrics


def detection_metrics_and_roc(
    is_anomaly: np.ndarray, scores: np.ndarray
) -> tuple[dict[str, float], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """AUROC, AUPR and ``fpr95`` (anomalies positive) and the (fpr, tpr, thresholds) ROC curve
    they were read from, all from one sort of the scores (the app's slider path pays for one).

    The ROC curve is ``roc_curve``'s with ``drop_intermediate=False``; AUROC is ``auc`` of it;
    AUPR is average precision as scikit-learn defines it, sum over thresholds of
    (R_n - R_{n-1}) P_n, from the same counts. The tests check all three against
    ``roc_auc_score`` and ``average_precision_score``.
    """
    metrics, roc, _ = _metrics_roc_counts(is_anomaly, scores)
    return metrics, roc


def _metrics_roc_counts(is_anomaly: np.ndarray, scores: np.ndarray) -> tuple[dict[str, float], tuple, tuple]:
    """:func:`detection_metrics_and_roc`'s metrics and curve, and the (fps, tps) counts behind them."""
    from sklearn.metrics import auc

    y, s = _check(is_anomaly, scores)
    fps, tps, thresholds = _curve(y, s)
    fpr = np.r_[0.0, fps / fps[-1]]
    tpr = np.r_[0.0, tps / tps[-1]]
    precision = tps / (tps + fps)  # every threshold flags at least one image
    recall = tps / tps[-1]
    with _checked():
        area = float(auc(fpr, tpr))
    metrics = {
        "auroc": area,
        "aupr": float(max(0.0, np.sum(np.diff(recall, prepend=0.0) * precision))),
        "fpr95": float(fpr[np.searchsorted(tpr, 0.95, side="left")]),
    }
    return metrics, (fpr, tpr, np.r_[np.inf, thresholds]), (fps, tps)


def subsample_curve(x: np.ndarray, y: np.ndarray, max_points: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """Thin a monotone curve to at most ``max_points`` points, keeping both ends."""
    x = np.asarray(x)
    y = np.asarray(y)
    if x.size <= max_points:
        return x, y
    idx = np.unique(np.linspace(0, x.size - 1, max_points).round().astype(int))
    return x[idx], y[idx]
