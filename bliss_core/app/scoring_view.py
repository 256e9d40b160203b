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
from typing import Any, Callable, Sequence

import numpy as np

from ..analysis import figures as F
from ..core.live import LiveScoring, LiveView

__all__ = ["live_panel_data", "panel_numbers", "method_rows", "heat_cell", "PANEL_ROC_POINTS", "HIST_BINS"]

PANEL_ROC_POINTS = 120
HIST_BINS = 40
_CACHE: "weakref.WeakKeyDictionary[LiveScoring, OrderedDict]" = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_CACHE_ENTRIES = 2048


def method_rows(metrics: dict[str, dict[str, float]], methods: Sequence[str] = ("bliss", "internal", "maxsim", "knn")) -> list[dict]:
    """One row per method: AUROC, AUPR and FPR at 95% TPR (for tables and CSV)."""
    return [{"method": F.METHOD_NAMES.get(m, m), "AUROC": metrics[m]["auroc"], "AUPR": metrics[m]["aupr"],
             "FPR@95%TPR": metrics[m]["fpr95"]} for m in methods if m in metrics]


def heat_cell(lams: Sequence[float], topks: Sequence[int], lam: float, topk: int) -> tuple[int, int]:
    """The heat map cell nearest to the sliders."""
    return (int(np.argmin(np.abs(np.asarray(lams, float) - lam))),
            int(np.argmin(np.abs(np.asarray(topks, float) - topk))))


def _round(a: np.ndarray, d: int = 4) -> list[float]:
    return np.round(np.asarray(a, dtype=float), d).tolist()


def _numbers(live: LiveScoring, view: LiveView, grid: tuple, gallery_n: int) -> dict[str, Any]:
    """The panel's numbers for one view (no pictures, no presentation flags): cacheable."""
    y = live.is_anomaly
    n_norm, n_anom = int((~y).sum()), int(y.sum())
    fpr_op = len(view.false_positives) / max(n_norm, 1)
    tpr_op = 1.0 - len(view.false_negatives) / max(n_anom, 1)
    curves = []
    for method in sorted(view.roc, key=lambda m: m == "bliss"):  # BLISS drawn last, on top
        fpr, tpr = F.subsample_curve(*view.roc[method], PANEL_ROC_POINTS)
        curves.append({"name": F.METHOD_NAMES.get(method, method), "color": F.METHOD_COLORS.get(method, "#334155"),
                       "auroc": round(view.metrics[method]["auroc"], 4), "main": method == "bliss",
                       "fpr": _round(fpr), "tpr": _round(tpr)})
    edges = np.histogram_bin_edges(view.scores, bins=HIST_BINS)
    lams, topks, z = grid
    b = live.bundle

    def gallery(pos: np.ndarray) -> list[dict]:
        rows = []
        for p in pos[:gallery_n]:
            g = int(live.test_idx[p])
            rows.append({"row": g, "id": b.image_name(g), "cls": b.class_names[int(b.image_label[g])],
                         "score": round(float(view.scores[p]), 4), "sim": round(float(live.avg_dict_sim[p]), 4)})
        return rows

    return {
        "roc": {"curves": curves, "op": [round(fpr_op, 4), round(tpr_op, 4)]},
        "hist": {"edges": _round(edges), "normal": np.histogram(view.scores[~y], bins=edges)[0].tolist(),
                 "anomaly": np.histogram(view.scores[y], bins=edges)[0].tolist(),
                 "threshold": round(float(view.threshold), 4),
                 "colors": {"normal": F.NORMAL_COLOR, "anomaly": F.ANOMALY_COLOR}},
        "heat": {"lams": [float(v) for v in lams], "topks": [int(k) for k in topks], "z": np.round(z, 4).tolist(),
                 "cur": list(heat_cell(lams, topks, view.lam, view.topk))},
        "fp": gallery(view.false_positives), "fn": gallery(view.false_negatives),
        "n_fp": int(len(view.false_positives)), "n_fn": int(len(view.false_negatives)),
        "fpr_at_op": fpr_op, "tpr_at_op": tpr_op,
    }


def _encoded_numbers(live: LiveScoring, view: LiveView, grid: tuple, gallery_n: int, with_pictures: bool) -> bytes:
    """The panel's numbers for one view as JSON bytes, remembered per (lambda, K, threshold)
    for every session on this LiveScoring: a move that revisits a value costs a look-up."""
    key = (view.lam, view.topk, round(float(view.threshold), 12), gallery_n, with_pictures)
    with _LOCK:
        per_live = _CACHE.setdefault(live, OrderedDict())
        hit = per_live.get(key)
        if hit is not None:
            per_live.move_to_end(key)
            return hit
    numbers = _numbers(live, view, grid, gallery_n)
    galleries = []
    for part, title, help_text in (
        ("fp", "False positives", "Normal images flagged as anomalies, most confident first. Hover for the file name."),
        ("fn", "Missed anomalies (false negatives)", "Anomalies that scored as normal, most confident first."),
    ):
        items = [{**{k: it[k] for k in ("id", "cls", "score", "sim")}, **({"thumb": it["id"]} if with_pictures else {})}
                 for it in numbers[part]]
        galleries.append({"title": title, "help": help_text, "total": numbers["n_" + part], "items": items})
    payload = {"roc": numbers["roc"], "hist": numbers["hist"], "heat": numbers["heat"], "galleries": galleries,
               "thumbs_on": with_pictures, "n_fp": numbers["n_fp"], "n_fn": numbers["n_fn"]}
    encoded = json.dumps(payload, separators=(",", ":")).encode()
    with _LOCK:
        per_live[key] = encoded
        while len(per_live) > _CACHE_ENTRIES:
            per_live.popitem(last=False)
    return encoded


def live_panel_data(live: LiveScoring, view: LiveView, grid: tuple, *, gallery_n: int = 12,
                    thumb: Callable[[str], str | None] | None = None, sent: set[str] | None = None,
                    presenter: bool = False) -> bytes:
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
    tail = json.dumps({"new_thumbs": new_thumbs, "presenter": bool(presenter)}, separators=(",", ":")).encode()
    return b'{"numbers":' + numbers + b"," + tail[1:]


def panel_numbers(data: bytes) -> dict[str, Any]:
    """The numbers part of :func:`live_panel_data`'s bytes, as a dict (for tests and tools)."""
    return json.loads(data)["numbers"]
