"""What the BLISS scoring page shows for one (lambda, K): pure code, no Streamlit widgets, so that
the benchmark suite can time exactly what the page does on a slider move.

A move costs one :meth:`LiveScoring.view` (shared by every session on the same bundle and normal
classes) and one small dictionary of numbers for the live panel, itself remembered per
(lambda, K, TPR) for the same reason: in a class, thirty students land on the same slider
values again and again.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..analysis import figures as F
from ..core.live import LiveScoring, LiveView

__all__ = ["HIST_BINS", "PANEL_ROC_POINTS", "heat_cell", "live_panel_data", "method_rows"]

PANEL_ROC_POINTS = 120
HIST_BINS = 40
_CACHE: weakref.WeakKeyDictionary[LiveScoring, OrderedDict] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_CACHE_ENTRIES = 2048
#: per LiveScoring: (the heat map values it was made for, :func:`_fixed_parts`)
_FIXED: weakref.WeakKeyDictionary[LiveScoring, tuple] = weakref.WeakKeyDictionary()


def method_rows(
    metrics: dict[str, dict[str, float]], methods: Sequence[str] = ("bliss", "internal", "maxsim", "knn")
) -> list[dict]:
    """One row per method: AUROC, AUPR and FPR at 95% TPR (for tables and CSV)."""
    return [
        {
            "method": F.METHOD_NAMES.get(m, m),
            "AUROC": metrics[m]["auroc"],
            "AUPR": metrics[m]["aupr"],
            "FPR@95%TPR": metrics[m]["fpr95"],
        }
        for m in methods
        if m in metrics
    ]


def heat_cell(lams: Sequence[float], topks: Sequence[int], lam: float, topk: int) -> tuple[int, int]:
    """The heat map cell nearest to the sliders."""
    return (
        int(np.argmin(np.abs(np.asarray(lams, float) - lam))),
        int(np.argmin(np.abs(np.asarray(topks, float) - topk))),
    )


def _round(a: np.ndarray, d: int = 4) -> list[float]:
    return np.round(np.asarray(a, dtype=float), d).tolist()


_GALLERIES = (
    (
        "false_positives",
        "False positives",
        "Normal images flagged as anomalies, most confident first. Hover for the file name.",
    ),
    (
        "false_negatives",
        "Missed anomalies (false negatives)",
        "Anomalies that scored as normal, most confident first.",
    ),
)


def _fixed_parts(live: LiveScoring, grid: tuple) -> dict[str, Any]:
    """What the panel shows that no (lambda, K) changes: the baselines' ROC curves, thinned and
    rounded, and the heat map's axes and values. Kept with the per-live cache."""
    curves = []
    for method, (fpr, tpr) in live.baseline_roc.items():
        fpr, tpr = F.subsample_curve(fpr, tpr, PANEL_ROC_POINTS)
        curves.append(
            {
                "name": F.METHOD_NAMES.get(method, method),
                "color": F.METHOD_COLORS.get(method, "#334155"),
                "auroc": round(live.baseline_metrics[method]["auroc"], 4),
                "main": False,
                "fpr": _round(fpr),
                "tpr": _round(tpr),
            }
        )
    lams, topks, z = grid
    return {
        "curves": curves,
        "heat": {
            "lams": [float(v) for v in lams],
            "topks": [int(k) for k in topks],
            "z": np.round(z, 4).tolist(),
        },
    }


def _encoded_numbers(
    live: LiveScoring, view: LiveView, grid: tuple, gallery_n: int, with_pictures: bool
) -> bytes:
    """The panel's numbers for one view as JSON bytes (no presentation flags), remembered per
    (lambda, K, threshold) for every session on this LiveScoring: a move that revisits a value
    costs a look-up, and what no move changes is prepared once."""
    key = (view.lam, view.topk, round(float(view.threshold), 12), gallery_n, with_pictures)
    with _LOCK:
        per_live = _CACHE.setdefault(live, OrderedDict())
        hit = per_live.get(key)
        if hit is not None:
            per_live.move_to_end(key)
            return hit
        fixed = _FIXED.get(live)
    if fixed is None or fixed[0] is not grid[2]:
        fixed = (grid[2], _fixed_parts(live, grid))
        with _LOCK:
            _FIXED[live] = fixed
    y, b = live.is_anomaly, live.bundle
    fpr_op = len(view.false_positives) / max(int((~y).sum()), 1)
    tpr_op = 1.0 - len(view.false_negatives) / max(int(y.sum()), 1)
    fpr, tpr = F.subsample_curve(*view.roc["bliss"], PANEL_ROC_POINTS)
    bliss = {
        "name": F.METHOD_NAMES["bliss"],
        "color": F.METHOD_COLORS["bliss"],
        "auroc": round(view.metrics["bliss"]["auroc"], 4),
        "main": True,
        "fpr": _round(fpr),
        "tpr": _round(tpr),
    }
    edges = np.histogram_bin_edges(view.scores, bins=HIST_BINS)

    def gallery(attr: str, title: str, help_text: str) -> dict[str, Any]:
        pos = getattr(view, attr)
        items = []
        for p in pos[:gallery_n]:
            g = int(live.test_idx[p])
            item = {
                "id": b.image_name(g),
                "cls": b.class_names[int(b.image_label[g])],
                "score": round(float(view.scores[p]), 4),
                "sim": round(float(live.avg_dict_sim[p]), 4),
            }
            if with_pictures:
                item["thumb"] = item["id"]
            items.append(item)
        return {"title": title, "help": help_text, "total": len(pos), "items": items}

    payload = {
        "roc": {
            "curves": [*fixed[1]["curves"], bliss],
            "op": [round(fpr_op, 4), round(tpr_op, 4)],
        },  # BLISS on top
        "hist": {
            "edges": _round(edges),
            "normal": np.histogram(view.scores[~y], bins=edges)[0].tolist(),
            "anomaly": np.histogram(view.scores[y], bins=edges)[0].tolist(),
            "threshold": round(float(view.threshold), 4),
            "colors": {"normal": F.NORMAL_COLOR, "anomaly": F.ANOMALY_COLOR},
        },
        "heat": {**fixed[1]["heat"], "cur": list(heat_cell(grid[0], grid[1], view.lam, view.topk))},
        "galleries": [gallery(*g) for g in _GALLERIES],
        "thumbs_on": with_pictures,
    }
    encoded = json.dumps(payload, separators=(",", ":")).encode()
    with _LOCK:
        per_live[key] = encoded
        while len(per_live) > _CACHE_ENTRIES:
            per_live.popitem(last=False)
    return encoded


def live_panel_data(
    live: LiveScoring,
    view: LiveView,
    grid: tuple,
    *,
    gallery_n: int = 12,
    thumb: Callable[[str], str | None] | None = None,
    sent: set[str] | None = None,
    presenter: bool = False,
) -> bytes:
    """The live panel's data for one view, as JSON bytes ``{"numbers": ..., "new_thumbs": ...,
    "presenter": ...}``.

    ``grid`` is the heat map's (lams, topks, aurocs). ``thumb(image_id)`` gives a picture as a
    data URI (None when there is none); ``sent`` is the set of ids this session's page already
    holds, so each picture travels once.
    """
    numbers = _encoded_numbers(live, view, grid, gallery_n, thumb is not None)
    new_thumbs: dict[str, str] = {}
    if thumb is not None:
        pos = {"fp": view.false_positives, "fn": view.false_negatives}
        for part in ("fp", "fn"):
            for p in pos[part][:gallery_n]:
                ref = live.bundle.image_name(int(live.test_idx[p]))
                if sent is not None and ref in sent:
                    continue
                uri = thumb(ref)
                if uri is not None:
                    new_thumbs[ref] = uri
                    if sent is not None:
                        sent.add(ref)
    tail = json.dumps(
        {"new_thumbs": new_thumbs, "presenter": bool(presenter)}, separators=(",", ":")
    ).encode()
    return b'{"numbers":' + numbers + b"," + tail[1:]
