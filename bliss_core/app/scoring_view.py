"""What the BLISS scoring page shows for one (lambda, K): pure code, no Streamlit, so that the
benchmark suite can time exactly what the page does on a slider move."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis import figures as F
from ..core.live import LiveScoring

__all__ = ["scoring_payload"]


def scoring_payload(live: LiveScoring, lam: float, topk: int, tpr: float = 0.95, gallery_n: int = 12,
                    with_figures: bool = True, grid: tuple | None = None) -> dict[str, Any]:
    """Everything the BLISS page's fragment shows for one (lambda, K): metrics table rows,
    ROC and score-histogram figures, the false-positive / false-negative galleries and, given
    ``grid`` = (lams, topks, aurocs), the heat map with the current cell marked."""
    view = live.view(lam, topk, tpr=tpr)
    b = live.bundle
    rows = []
    for method in ("bliss", "internal", "maxsim", "knn"):
        if method in view.metrics:
            m = view.metrics[method]
            rows.append({"method": F.METHOD_NAMES.get(method, method), "AUROC": m["auroc"], "AUPR": m["aupr"],
                         "FPR@95%TPR": m["fpr95"]})

    def gallery(pos: np.ndarray) -> list[dict[str, Any]]:
        out = []
        for p in pos[:gallery_n]:
            g = int(live.test_idx[p])
            out.append({
                "global_id": g,
                "id": b.image_name(g),
                "class": b.class_names[int(b.image_label[g])],
                "score": float(view.scores[p]),
                "avg dict sim": float(live.avg_dict_sim[p]),
            })
        return out

    n_norm = int((~live.is_anomaly).sum())
    n_anom = int(live.is_anomaly.sum())
    payload: dict[str, Any] = {
        "view": view,
        "rows": rows,
        "fp": gallery(view.false_positives),
        "fn": gallery(view.false_negatives),
        "n_fp": int(len(view.false_positives)),
        "n_fn": int(len(view.false_negatives)),
        "fpr_at_op": len(view.false_positives) / max(n_norm, 1),
        "tpr_at_op": 1.0 - len(view.false_negatives) / max(n_anom, 1),
    }
    if with_figures:
        aurocs = {k: v["auroc"] for k, v in view.metrics.items()}
        payload["roc_fig"] = F.roc_figure(view.roc, aurocs, operating_point=(payload["fpr_at_op"], payload["tpr_at_op"]),
                                          max_points=200, height=400, template=None)
        payload["hist_fig"] = F.score_histogram(view.scores, live.is_anomaly, view.threshold, height=280, template=None)
        if grid is not None:
            payload["heat_fig"] = F.auroc_heatmap(*grid, current=(lam, topk), template=None)
    return payload
