"""Interactive scoring: fit once for a choice of normal classes, then re-score on every slider move.

The app's BLISS page holds one :class:`LiveScoring` per (bundle, normal classes, max K) and calls
:meth:`LiveScoring.view` whenever lambda or K change. Everything that does not depend on them
(class statistics, test similarities, top-K dictionary entries, baseline scores and metrics)
is done in the constructor, so a view costs one min over classes, one ROC curve and a sort.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import MetricError
from .bundle import Bundle
from .diagnostics import avg_dict_similarity, confusion_at, threshold_at_tpr
from .evaluate import few_shot_mask, normal_name_entries
from .kernels import take_rows
from .metrics import auroc, detection_metrics_and_roc, subsample_curve
from .scorers.bliss import BlissScorer
from .scorers.checks import check_topk
from .scorers.knn import KNNScorer
from .splits import check_normal

__all__ = ["LiveScoring", "LiveView", "PreparedNormalSet"]


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


class PreparedNormalSet:
    """BLISS fitted for one choice of normal classes of a bundle, its test set precomputed.

    ``class_text_emb`` replaces the bundle's label embeddings (reworded labels); the reference
    images stay the bundle's. Shared by the live scoring page and the label what-if.
    """

    def __init__(
        self,
        bundle: Bundle,
        normal: Sequence[int],
        *,
        class_text_emb: np.ndarray | None = None,
        max_topk: int = 50,
        allow_all_normal: bool = False,
        shots: int | None = None,
        seed: int = 0,
        exclude_normal_names: bool = False,
        backend: Any = "numpy",
    ):
        self.bundle = bundle
        self.normal = check_normal(bundle, normal, allow_all_normal=allow_all_normal)
        self.excluded = normal_name_entries(bundle, self.normal) if exclude_normal_names else set()
        n_dict = len(bundle.dict_names) - len(self.excluded)
        self.max_topk = check_topk(min(int(max_topk), n_dict), n_dict)
        self.train_mask = few_shot_mask(bundle, self.normal, shots, seed)
        self.test_idx = np.flatnonzero(~bundle.image_is_train)
        self.is_anomaly = ~np.isin(bundle.image_label[self.test_idx], self.normal)
        class_text = bundle.class_text_emb if class_text_emb is None else class_text_emb
        self.scorer = BlissScorer(
            class_text_emb=class_text, dict_text_emb=bundle.dict_text_emb, lam=0.0, topk=1, backend=backend
        ).fit(bundle.image_emb[self.train_mask], bundle.image_label[self.train_mask])
        full = self.scorer.precompute(
            take_rows(bundle.image_emb, self.test_idx), max_topk=self.max_topk + len(self.excluded)
        )
        self.pre = full.excluding(self.excluded, self.max_topk)


class LiveScoring(PreparedNormalSet):
    """Precomputed BLISS and baselines for one bundle and one set of normal classes."""

    #: Memory for remembered views; each holds the test set's scores and a thinned ROC curve.
    views_bytes = 64 * 1024**2
    #: ROC curves are kept with at most this many points (both ends kept).
    roc_points = 1000

    def __init__(
        self,
        bundle: Bundle,
        normal: Sequence[int],
        max_topk: int = 50,
        knn_k: int = 5,
        baselines: Sequence[str] = ("internal", "maxsim", "knn"),
        *,
        shots: int | None = None,
        seed: int = 0,
        exclude_normal_names: bool = False,
        backend: Any = "numpy",
    ):
        super().__init__(
            bundle,
            normal,
            max_topk=max_topk,
            shots=shots,
            seed=seed,
            exclude_normal_names=exclude_normal_names,
            backend=backend,
        )
        if not self.is_anomaly.any():
            raise MetricError("the test set has no images of the anomalous classes, so AUROC is undefined.")
        if self.is_anomaly.all():
            raise MetricError("the test set has no images of the normal classes, so AUROC is undefined.")
        test = take_rows(bundle.image_emb, self.test_idx)
        self.avg_dict_sim = avg_dict_similarity(test, bundle.dict_text_emb)
        self.baseline_scores: dict[str, np.ndarray] = {}
        if "internal" in baselines:
            self.baseline_scores["internal"] = self.pre.scores(0.0, 1)
        if "maxsim" in baselines:  # MaxSim's score, from the label similarities BLISS already has
            self.baseline_scores["maxsim"] = -self.pre.label_sim.max(axis=1).astype(np.float64)
        if "knn" in baselines:
            ref, ref_lab = bundle.image_emb[self.train_mask], bundle.image_label[self.train_mask]
            self.baseline_scores["knn"] = (
                KNNScorer(k=knn_k, backend=backend).fit(ref, ref_lab).decision_function(test)
            )
        # every K a slice from here on: a slider move costs a gather, a min and the metrics
        self.pre.prepare_all_k()
        self.baseline_metrics: dict[str, dict[str, float]] = {}
        self.baseline_roc: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, values in self.baseline_scores.items():
            metrics, (fpr, tpr, _) = detection_metrics_and_roc(self.is_anomaly, values)
            self.baseline_metrics[name] = metrics
            self.baseline_roc[name] = subsample_curve(fpr, tpr, self.roc_points)
        self._views: OrderedDict[tuple, LiveView] = OrderedDict()
        self._views_lock = threading.Lock()

    def view(self, lam: float, topk: int, tpr: float = 0.95) -> LiveView:
        """Scores, metrics, ROC and error lists for one (lambda, K) at the threshold catching ``tpr``.

        Views are remembered (bounded, least recently used first): sessions on the same bundle
        and normal classes share this object, and a class moving sliders in step asks for the
        same (lambda, K) again and again. Treat the returned arrays as read-only.
        """
        key = (round(float(lam), 6), int(topk), round(float(tpr), 6))
        with self._views_lock:
            hit = self._views.get(key)
            if hit is not None:
                self._views.move_to_end(key)
                return hit
        view = self._compute_view(lam, topk, tpr)
        with self._views_lock:
            self._views[key] = view
            while len(self._views) > max(
                16, self.views_bytes // (8 * len(self.test_idx) + 16 * self.roc_points)
            ):
                self._views.popitem(last=False)
        return view

    def _compute_view(self, lam: float, topk: int, tpr: float) -> LiveView:
        start = time.perf_counter()
        scores = self.pre.scores(lam, topk)
        bliss, (fpr, tpr_curve, _) = detection_metrics_and_roc(self.is_anomaly, scores)
        fpr, tpr_curve = subsample_curve(fpr, tpr_curve, self.roc_points)
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
        return np.array([[auroc(self.is_anomaly, self.pre.scores(l, k)) for k in topks] for l in lams])
