"""Several embedding spaces side by side: the research questions of ``bliss compare`` and the
app's Compare page (is the effect unique to one model? does the prompt or the dictionary
matter?).

One row per bundle: what made it (model, weights, prompt, dictionary), its text clustering
statistics (:func:`~bliss_core.core.diagnostics.bundle_clustering_stats`, what ``bliss
diagnose`` reports), the mean AUROC over the splits of the internal score (lambda = 0), BLISS at
the given lambda and K, CLIP's max-sim and kNN, and the best (lambda, K) on a default grid.
When bundles hold the same images (same ids, another model, prompt or dictionary),
:func:`compare_verdicts` says which test images change verdict between them.

numpy only; figures and the HTML report are in :mod:`bliss_core.analysis.compare_report`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EvaluationError
from .bundle import Bundle
from .diagnostics import bundle_clustering_stats
from .evaluate import evaluate, normal_name_entries
from .scorers.checks import check_lambda

__all__ = [
    "AUROC_METHODS",
    "CLUSTERING_KEYS",
    "DEFAULT_LAMS",
    "DEFAULT_TOPKS",
    "VerdictComparison",
    "bundle_summary",
    "compare_bundles",
    "compare_row",
    "compare_verdicts",
    "grid_topks",
    "shared_test_ids",
]

#: The default grid on which ``best`` is searched.
DEFAULT_LAMS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
DEFAULT_TOPKS = (1, 5, 10, 20, 50)
#: The four clustering statistics every comparison shows, in this order.
CLUSTERING_KEYS = ("text_text", "image_image", "image_text", "modality_gap")
#: The methods of a row's ``auroc``, in this order.
AUROC_METHODS = ("internal", "bliss", "maxsim", "knn")


def bundle_summary(bundle: Bundle) -> dict[str, Any]:
    """What made a bundle, as a row's ``meta``: model, weights, prompt and dictionary (None
    when the bundle does not say)."""
    meta = bundle.meta
    weights = meta.get("pretrained")
    if weights in (None, ""):
        weights = meta.get("weights_id") or meta.get("weights_sha256")
    return {
        "model": meta.get("model"),
        "weights": weights,
        "prompt": meta.get("prompt"),
        "dictionary": meta.get("dictionary"),
    }


def grid_topks(
    bundle: Bundle,
    splits: Sequence[Sequence[int]],
    exclude_normal_names: bool = False,
    topks: Sequence[int] = DEFAULT_TOPKS,
) -> list[int]:
    """The K of the default grid clipped to the dictionary entries every split can use
    (``min(K, entries)``, without repeats)."""
    available = len(bundle.dict_names)
    if exclude_normal_names:
        available -= max(len(normal_name_entries(bundle, s)) for s in splits)
    if available < 1:
        raise EvaluationError("no dictionary entries are left after excluding the normal class names.")
    return sorted({min(int(k), available) for k in topks})


def compare_row(
    bundle: Bundle,
    splits: Sequence[Sequence[int]],
    lam: float = 0.5,
    topk: int = 10,
    *,
    name: str = "",
    path: str = "",
    exclude_normal_names: bool = False,
    knn_k: int = 5,
    lams: Sequence[float] = DEFAULT_LAMS,
    topks: Sequence[int] = DEFAULT_TOPKS,
    backend: Any = "numpy",
) -> dict[str, Any]:
    """One bundle's row of a comparison (JSON-ready).

    ``auroc`` holds the mean over ``splits`` of ``internal`` (lambda = 0), ``bliss`` (``lam``,
    ``topk``), ``maxsim`` and ``knn``; ``best`` the (lambda, K) of the grid ``lams`` x ``topks``
    (K clipped to the dictionary) with the highest mean AUROC, the first in grid order on a
    tie. All BLISS numbers come from one :func:`evaluate` call, which reuses every part of the
    work that does not depend on lambda and K. ``backend``: where the array work runs
    (:mod:`bliss_core.core.kernels`; the numbers are the same on every backend).
    """
    lam = check_lambda(lam)
    grid_k = grid_topks(bundle, splits, exclude_normal_names, topks)
    grid_l = [check_lambda(v) for v in lams]
    all_l = list(dict.fromkeys([*grid_l, 0.0, lam]))
    all_k = list(dict.fromkeys([*grid_k, int(topk)]))
    res = evaluate(bundle, splits, all_l, all_k, exclude_normal_names=exclude_normal_names, backend=backend)
    mean = {(r["lam"], r["topk"]): r["auroc_mean"] for r in res["results"]}
    best_lam, best_k = max(itertools.product(grid_l, grid_k), key=lambda p: mean[p])  # first on a tie
    auroc = {
        "internal": mean[(0.0, int(topk))],
        "bliss": mean[(lam, int(topk))],
        # baselines ignore lambda and K; K=1 fits every dictionary
        "maxsim": evaluate(bundle, splits, [0.0], [1], method="maxsim", backend=backend)["auroc_mean"],
        "knn": evaluate(bundle, splits, [0.0], [1], method="knn", knn_k=knn_k, backend=backend)["auroc_mean"],
    }
    return {
        "name": name,
        "path": path,
        "meta": bundle_summary(bundle),
        "untrained": bundle.untrained,
        "simulation": bundle.is_simulation,
        "describe": bundle.describe(),
        "splits": [[bundle.class_names[c] for c in s] for s in splits],
        "exclude_normal_names": bool(exclude_normal_names),
        "clustering": bundle_clustering_stats(bundle),
        "auroc": auroc,
        "best": {"lam": best_lam, "topk": best_k, "auroc": mean[(best_lam, best_k)]},
    }


def compare_bundles(
    named: Sequence[tuple[str, str, Bundle, Sequence[Sequence[int]]]],
    lam: float = 0.5,
    topk: int = 10,
    setup: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """``{"setup", "lam", "topk", "bundles": [row, ...]}`` for (name, path, bundle, splits) tuples;
    ``kwargs`` go to :func:`compare_row`."""
    rows = [
        compare_row(b, splits, lam, topk, name=name, path=path, **kwargs) for name, path, b, splits in named
    ]
    return {"setup": setup, "lam": check_lambda(lam), "topk": int(topk), "bundles": rows}


# ------------------------------------------------------------------------------------------
# verdicts of the same images under several bundles
# ------------------------------------------------------------------------------------------
def shared_test_ids(test_ids: Sequence[Sequence[str] | None]) -> list[str]:
    """Ids that name exactly one test image in every bundle, in the first bundle's order
    ([] when a bundle has no ids)."""
    if not test_ids or any(ids is None for ids in test_ids):
        return []
    unique = []
    for ids in test_ids:
        seen: dict[str, int] = {}
        for i in ids:
            seen[i] = seen.get(i, 0) + 1
        unique.append({i for i, n in seen.items() if n == 1})
    common = set.intersection(*unique)
    return [i for i in test_ids[0] if i in common]


@dataclass
class VerdictComparison:
    """The verdicts of the test images several bundles share.

    ``positions[s, b]``: where shared image ``ids[s]`` sits in bundle b's test set;
    ``flagged[s, b]``: whether bundle b flags it as an anomaly; ``changed[s]``: whether the
    bundles disagree about it.
    """

    ids: list[str]
    positions: np.ndarray
    flagged: np.ndarray
    changed: np.ndarray

    @property
    def n_changed(self) -> int:
        return int(self.changed.sum())


def compare_verdicts(
    test_ids: Sequence[Sequence[str] | None], flagged: Sequence[np.ndarray]
) -> VerdictComparison:
    """Align the test sets of several bundles by image id and compare their verdicts.

    ``test_ids[b]`` are bundle b's test image ids in test-set order and ``flagged[b]`` its
    verdicts in the same order (True = flagged as an anomaly, e.g. score >= the threshold at
    95% TPR).
    """
    if len(test_ids) != len(flagged):
        raise EvaluationError("give one list of verdicts per bundle.")
    for ids, f in zip(test_ids, flagged):
        if ids is not None and len(ids) != len(f):
            raise EvaluationError(f"{len(ids)} test image ids but {len(f)} verdicts.")
    ids = shared_test_ids(test_ids)
    n_b = len(flagged)
    positions = np.zeros((len(ids), n_b), dtype=np.int64)
    for b, bundle_ids in enumerate(test_ids):
        if not ids:
            break
        where = {i: p for p, i in enumerate(bundle_ids)}
        positions[:, b] = [where[i] for i in ids]
    verdicts = np.zeros((len(ids), n_b), dtype=bool)
    for b in range(n_b):
        verdicts[:, b] = np.asarray(flagged[b], bool)[positions[:, b]]
    changed = verdicts.any(axis=1) & ~verdicts.all(axis=1)
    return VerdictComparison(ids=ids, positions=positions, flagged=verdicts, changed=changed)
