"""The paper's protocol: AUROC (anomalies positive) over splits, for a grid of (lambda, K)."""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from ..errors import EvaluationError, MetricError, ScoringError
from .bundle import Bundle
from .metrics import detection_metrics
from .scoring import check_lambda, check_topk, make_scorer
from .splits import check_normal, validate_splits

__all__ = ["EvaluationError", "evaluate", "split_test_labels", "format_table"]


def split_test_labels(bundle: Bundle, split: Sequence[int]) -> np.ndarray:
    """Anomaly labels (True = anomaly) of the bundle's test images for one split."""
    test_labels = bundle.image_label[~bundle.image_is_train]
    is_anomaly = ~np.isin(test_labels, list(split))
    if not is_anomaly.any():
        raise EvaluationError(f"split {list(split)} leaves no anomalies among the test images.")
    if is_anomaly.all():
        raise EvaluationError(f"split {list(split)} has no normal images among the test images.")
    return is_anomaly


def evaluate(
    bundle: Bundle,
    splits: Sequence[Sequence[int]],
    lams: Sequence[float] = (0.5,),
    topks: Sequence[int] = (10,),
    method: str = "bliss",
    setup: str | None = None,
    knn_k: int = 5,
) -> dict:
    """Evaluate ``method`` on every split for every (lambda, K); returns the JSON-ready result.

    Work that does not depend on lambda and K (class statistics, test similarities, top-K
    dictionary entries) is done once for all splits and all grid points.
    """
    splits = validate_splits(splits, bundle.class_names)
    lams = [check_lambda(l) for l in lams]
    m = len(bundle.dict_names)
    topks = [check_topk(k, m) for k in topks]
    if not lams or not topks:
        raise EvaluationError("give at least one lambda and one K.")
    if method == "mcm":
        single = [s for s in splits if len(s) < 2]
        if single:
            raise EvaluationError(f"MCM needs at least two normal classes per split, but split {single[0]} has one.")
    labels = [split_test_labels(bundle, s) for s in splits]

    union = check_normal(bundle, [c for s in splits for c in s], allow_all_normal=True)
    train = bundle.image_is_train & np.isin(bundle.image_label, union)
    kwargs = {"lam": lams[0], "topk": topks[0]} if method == "bliss" else ({"k": knn_k} if method == "knn" else {})
    try:
        scorer = make_scorer(method, **kwargs)
    except ScoringError as exc:
        raise EvaluationError(str(exc)) from None
    scorer.fit(bundle.image_emb[train], bundle.image_label[train], bundle.class_text_emb, bundle.dict_text_emb)
    test_emb = bundle.image_emb[~bundle.image_is_train]
    pre = scorer.precompute(test_emb, max_topk=max(topks)) if method == "bliss" else scorer.precompute(test_emb)

    results = []
    baseline_cache: dict[int, dict] = {}
    for lam, topk in itertools.product(lams, topks):
        split_rows = []
        for i, (split, y) in enumerate(zip(splits, labels)):
            if method != "bliss" and i in baseline_cache:
                metrics = baseline_cache[i]
            else:
                try:
                    metrics = detection_metrics(y, pre.scores(lam, topk, classes=split))
                except (MetricError, ScoringError) as exc:
                    raise EvaluationError(str(exc)) from None
                if method != "bliss":
                    baseline_cache[i] = metrics
            split_rows.append({"normal": list(split), **metrics})
        aurocs = np.array([r["auroc"] for r in split_rows])
        results.append(
            {
                "lam": lam,
                "topk": topk,
                "splits": split_rows,
                "auroc_mean": float(aurocs.mean()),
                "auroc_std": float(aurocs.std()),
            }
        )
    out: dict = {"method": method, "setup": setup, "results": results}
    if len(results) == 1:
        out.update(splits=results[0]["splits"], auroc_mean=results[0]["auroc_mean"], auroc_std=results[0]["auroc_std"])
    return out


def format_table(result: dict, class_names: Sequence[str] | None = None) -> str:
    """A readable table of an :func:`evaluate` result, AUROC in percent with one decimal;
    splits are named by class name when ``class_names`` is given."""
    lines = [f"method: {result['method']}   setup: {result['setup'] or 'custom'}"]
    for res in result["results"]:
        head = f"lambda={res['lam']:g}  K={res['topk']}" if result["method"] == "bliss" else ""
        lines.append("")
        if head:
            lines.append(head)
        lines.append(f"  {'normal classes':<40} {'AUROC':>6} {'AUPR':>6} {'FPR95':>6}")
        for row in res["splits"]:
            names = ",".join(class_names[c] if class_names is not None else str(c) for c in row["normal"])
            if len(names) > 40:
                names = names[:37] + "..."
            lines.append(
                f"  {names:<40} {100 * row['auroc']:6.1f} {100 * row['aupr']:6.1f} {100 * row['fpr95']:6.1f}"
            )
        lines.append(f"  {'mean +/- std':<40} {100 * res['auroc_mean']:6.1f} +/- {100 * res['auroc_std']:.1f}")
    return "\n".join(lines)
