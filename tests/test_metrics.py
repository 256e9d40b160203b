"""The detection metrics against scikit-learn's own functions and a brute-force slow path.

``detection_metrics_and_roc`` reads AUROC, AUPR and FPR95 from one sort of the scores; these
tests hold it to ``roc_auc_score``, ``average_precision_score`` and a threshold-by-threshold
count, with ties, tiny sets and a hand-computed example.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from bliss_core.core.metrics import (
    MetricError,
    aupr,
    auroc,
    detection_metrics,
    detection_metrics_and_roc,
    fpr_at_tpr,
)


def _slow_fpr_at_tpr(y: np.ndarray, s: np.ndarray, tpr: float) -> float:
    """Every distinct threshold, highest first: the first that catches ``tpr`` of the positives."""
    for t in np.unique(s)[::-1]:
        flagged = s >= t
        if flagged[y].mean() >= tpr:
            return float(flagged[~y].mean())
    raise AssertionError("unreachable: the lowest threshold flags everything")


@pytest.mark.parametrize("seed", range(12))
def test_metrics_equal_scikit_learn_and_the_slow_path(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    y = rng.random(n) < rng.uniform(0.1, 0.9)
    y[0], y[1] = True, False
    # coarse scores give many ties, fine ones none
    s = np.round(rng.normal(size=n) + 0.8 * y, int(rng.integers(0, 4)))
    metrics, (fpr, tpr, thr) = detection_metrics_and_roc(y, s)
    assert metrics["auroc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert metrics["aupr"] == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert metrics["fpr95"] == pytest.approx(_slow_fpr_at_tpr(y, s, 0.95), abs=1e-12)
    assert auroc(y, s) == pytest.approx(metrics["auroc"], abs=1e-12)
    assert aupr(y, s) == pytest.approx(metrics["aupr"], abs=1e-12)
    assert fpr_at_tpr(y, s, 0.8) == pytest.approx(_slow_fpr_at_tpr(y, s, 0.8), abs=1e-12)
    assert detection_metrics(y, s)["fpr95_ood"] == pytest.approx(_slow_fpr_at_tpr(~y, -s, 0.95), abs=1e-12)
    # the curve runs from (0, 0) to (1, 1), monotone, thresholds descending from +inf
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert thr[0] == np.inf and np.all(np.diff(thr) < 0)


def test_a_hand_computed_example():
    # scores 4 3 2 1 with labels A N A N: thresholds 4, 3, 2, 1
    y = np.array([True, False, True, False])
    s = np.array([4.0, 3.0, 2.0, 1.0])
    metrics, _ = detection_metrics_and_roc(y, s)
    assert metrics["auroc"] == pytest.approx(3 / 4)  # pairs (A, N) ranked right: (4,3) (4,1) (2,1) of 4
    assert metrics["aupr"] == pytest.approx(0.5 * 1 + 0.5 * (2 / 3))  # recall steps at precision 1 and 2/3
    assert metrics["fpr95"] == pytest.approx(
        0.5
    )  # both anomalies caught at threshold 2: one of two normals flagged


def test_one_class_missing_is_one_sentence():
    with pytest.raises(MetricError, match="no anomalies"):
        detection_metrics_and_roc(np.zeros(4, bool), np.arange(4.0))
    with pytest.raises(MetricError, match="no normal images"):
        detection_metrics_and_roc(np.ones(4, bool), np.arange(4.0))
    with pytest.raises(MetricError, match="NaN"):
        detection_metrics_and_roc(np.array([True, False]), np.array([np.nan, 1.0]))
