"""Interactive scoring: fit once for a choice of normal classes, then re-score on every slider move.

The app's BLISS page holds one :class:`LiveScoring` per (bundle, normal classes, max K) and calls
:meth:`LiveScoring.view` whenever lambda or K change. Everything that does not depend on them
(class statistics, test similarities, top-K dictionary entries, baseline scores and metrics)
is done in the constructor, so a view costs one min over classes, one ROC curve and a sort.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .bundle import Bundle
from .diagnostics import avg_dict_similarity, confusion_at, threshold_at_tpr
from .metrics import MetricError, detection_metrics_and_roc
from .scoring import BlissScorer, KNNScorer, MaxSimScorer, ScoringError, check_topk


@dataclass
class LiveView:
    """What the page shows for one (lambda, K)."""

    lam: float
    topk: int
    scores: np.ndarray  # BLISS score per test image
    metrics: dict[str, dict[str, float]]  # method -> auroc/aupr/fpr95
    roc: dict[str, tuple[np.ndarray, np.ndarray]]  # method -> (fpr, tpr)
    threshold: float
    false_positives: np.ndarray  # positions in the test set, most confident first
    false_negatives: np.ndarray
    seconds: float = 0.0
    extras: dict = field(default_factory=dict)


class LiveScoring:
    """Precomputed BLISS and baselines for one bundle and one set of normal classes."""

    def __init__(self, bundle: Bundle, normal: Sequence[int], max_topk: int = 50, knn_k: int = 5,
                 baselines: Sequence[str] = ("internal", "maxsim", "knn")):
        normal = sorted({int(c) for c in normal})
        n_classes = len(bundle.class_names)
        if not normal:
            raise ScoringError("choose at least one normal class.")
        bad = [c for c in normal if not 0 <= c < n_classes]
        if bad:
            raise ScoringError(f"normal class {bad[0]} does not exist; the bundle has classes 0..{n_classes - 1}.")
        if len(normal) == n_classes:
            raise ScoringError("every class is normal, so there are no anomalies to detect; leave at least one class out.")
        self.bundle = bundle
        self.normal = normal
        self.test_idx = np.flatnonzero(~bundle.image_is_train)
        test_labels = bundle.image_label[self.test_idx]
        self.is_anomaly = ~np.isin(test_labels, normal)
        if not self.is_anomaly.any():
            raise MetricError("the test set has no images of the anomalous classes, so AUROC is undefined.")
        if self.is_anomaly.all():
            raise MetricError("the test set has no images of the normal classes, so AUROC is undefined.")
        train = bundle.image_is_train & np.isin(bundle.image_label, normal)
        lacking = [c for c in normal if not np.any(bundle.image_label[train] == c)]
        if lacking:
            raise ScoringError(f"normal class '{bundle.class_names[lacking[0]]}' has no reference images.")
        self.max_topk = check_topk(min(max_topk, len(bundle.dict_names)), len(bundle.dict_names))
        ref, ref_lab = bundle.image_emb[train], bundle.image_label[train]
        test = bundle.image_emb[self.test_idx]
        self.scorer = BlissScorer(lam=0.0, topk=1).fit(ref, ref_lab, bundle.class_text_emb, bundle.dict_text_emb)
        self.pre = self.scorer.precompute(test, max_topk=self.max_topk)
        self.avg_dict_sim = avg_dict_similarity(test, bundle.dict_text_emb)
        self.baseline_scores: dict[str, np.ndarray] = {}
        if "internal" in baselines:
            self.baseline_scores["internal"] = self.pre.scores(0.0, 1)
        if "maxsim" in baselines:
            self.baseline_scores["maxsim"] = MaxSimScorer().fit(ref, ref_lab, bundle.class_text_emb).decision_function(test)
        if "knn" in baselines:
            self.baseline_scores["knn"] = KNNScorer(k=knn_k).fit(ref, ref_lab).decision_function(test)
        self.baseline_metrics: dict[str, dict[str, float]] = {}
        self.baseline_roc: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, values in self.baseline_scores.items():
            metrics, (fpr, tpr, _) = detection_metrics_and_roc(self.is_anomaly, values)
            self.baseline_metrics[name] = metrics
            self.baseline_roc[name] = (fpr, tpr)

    def view(self, lam: float, topk: int, tpr: float = 0.95) -> LiveView:
        """Scores, metrics, ROC and error lists for one (lambda, K) at the threshold catching ``tpr``."""
        start = time.perf_counter()
        scores = self.pre.scores(lam, topk)
        bliss, (fpr, tpr_curve, _) = detection_metrics_and_roc(self.is_anomaly, scores)
        metrics = {"bliss": bliss, **self.baseline_metrics}
        threshold = threshold_at_tpr(self.is_anomaly, scores, tpr)
        errors = confusion_at(self.is_anomaly, scores, threshold)
        return LiveView(
            lam=float(lam),
            topk=int(topk),
            scores=scores,
            metrics=metrics,
            roc={"bliss": (fpr, tpr_curve), **self.baseline_roc},
            threshold=threshold,
            false_positives=errors["false_positives"],
            false_negatives=errors["false_negatives"],
            seconds=time.perf_counter() - start,
        )

    def auroc_grid(self, lams: Sequence[float], topks: Sequence[int]) -> np.ndarray:
        """[len(lams), len(topks)] AUROC of BLISS, for the lambda x K heat map."""
        from .metrics import auroc

        return np.array([[auroc(self.is_anomaly, self.pre.scores(l, k)) for k in topks] for l in lams])
