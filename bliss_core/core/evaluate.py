"""The paper's protocol: AUROC (anomalies positive) over splits, for a grid of (lambda, K)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import EvaluationError, MetricError, ScoringError
from .bundle import Bundle
from .kernels import take_rows
from .metrics import detection_metrics
from .scoring import check_lambda, check_topk, make_scorer
from .splits import check_normal, validate_splits

__all__ = [
    "EvaluationError",
    "evaluate",
    "few_shot_mask",
    "format_table",
    "normal_name_entries",
    "split_test_labels",
]


def split_test_labels(bundle: Bundle, split: Sequence[int]) -> np.ndarray:
    """Anomaly labels (True = anomaly) of the bundle's test images for one split."""
    test_labels = bundle.image_label[~bundle.image_is_train]
    is_anomaly = ~np.isin(test_labels, list(split))
    if not is_anomaly.any():
        raise EvaluationError(f"split {list(split)} leaves no anomalies among the test images.")
    if is_anomaly.all():
        raise EvaluationError(f"split {list(split)} has no normal images among the test images.")
    return is_anomaly


def normal_name_entries(bundle: Bundle, split: Sequence[int]) -> set[int]:
    """Dictionary entries equal to a normal class's name, ignoring case and surrounding space."""
    names = {bundle.class_names[c].strip().casefold() for c in split}
    return {j for j, entry in enumerate(bundle.dict_names) if entry.strip().casefold() in names}


def few_shot_mask(bundle: Bundle, classes: Sequence[int], shots: int | None, seed: int) -> np.ndarray:
    """The reference images used: for each class, ``shots`` of its training images drawn at
    random with ``seed`` (all of them, in order, when it has no more than ``shots``)."""
    train = bundle.image_is_train & np.isin(bundle.image_label, list(classes))
    if shots is None:
        return train
    rng = np.random.default_rng(seed)
    mask = np.zeros_like(train)
    for c in sorted(classes):
        idx = np.flatnonzero(train & (bundle.image_label == c))
        if idx.size > shots:
            idx = np.sort(rng.choice(idx, size=shots, replace=False))
        mask[idx] = True
    return mask


def evaluate(
    bundle: Bundle,
    splits: Sequence[Sequence[int]],
    lams: Sequence[float] = (0.5,),
    topks: Sequence[int] = (10,),
    method: str = "bliss",
    setup: str | None = None,
    knn_k: int = 5,
    *,
    exclude_normal_names: bool = False,
    shots: int | None = None,
    seeds: int = 1,
    backend: Any = "numpy",
) -> dict:
    """Evaluate ``method`` on every split for every (lambda, K); returns the JSON-ready result.

    Work that does not depend on lambda and K (class statistics, test similarities, top-K
    dictionary entries) is done once for all splits and all grid points.

    ``exclude_normal_names``: per split, dictionary entries equal to a normal class's name are
    left out of the external score. ``shots``: for each of ``seeds`` seeds (0, 1, ...), that
    many reference images per normal class drawn at random (all of a class that has fewer);
    ``auroc_mean`` is then over splits and seeds, ``auroc_std`` over splits (of the seed
    means) and ``auroc_seed_std`` over seeds (of the split means). ``backend`` runs the array
    work (:mod:`bliss_core.core.kernels`).
    """
    splits = validate_splits(splits, bundle.class_names)
    lams = [check_lambda(l) for l in lams]
    m = len(bundle.dict_names)
    topks = [check_topk(k, m) for k in topks]
    if not lams or not topks:
        raise EvaluationError("give at least one lambda and one K.")
    if shots is not None and (int(shots) != shots or shots < 1):
        raise EvaluationError(f"--shots must be a whole number >= 1, got {shots}.")
    if int(seeds) != seeds or seeds < 1:
        raise EvaluationError(f"--seeds must be a whole number >= 1, got {seeds}.")
    if method == "mcm":
        single = [s for s in splits if len(s) < 2]
        if single:
            raise EvaluationError(
                f"MCM needs at least two normal classes per split, but split {single[0]} has one."
            )
    labels = [split_test_labels(bundle, s) for s in splits]
    union = check_normal(bundle, [c for s in splits for c in s], allow_all_normal=True)
    excluded = [
        normal_name_entries(bundle, s) if exclude_normal_names and method == "bliss" else set()
        for s in splits
    ]
    extra = max(len(e) for e in excluded)
    for split, drop in zip(splits, excluded):
        if max(topks) > m - len(drop):
            raise EvaluationError(
                f"K={max(topks)} is larger than the {m - len(drop)} dictionary entries left for "
                f"split {split} after excluding its class names."
            )
    kwargs = {"lam": lams[0], "topk": topks[0], "k": knn_k, "backend": backend}
    # the test rows without a copy (a slice of a memory-mapped bundle is read block by block)
    test_emb = take_rows(bundle.image_emb, ~bundle.image_is_train)
    masks = [
        few_shot_mask(bundle, union, shots, seed) for seed in range(int(seeds) if shots is not None else 1)
    ]
    # Shots at least as large as every class draw every image for every seed: one evaluation,
    # exactly the full one.
    distinct = [masks[0]] if all(np.array_equal(masks[0], mk) for mk in masks[1:]) else masks
    grid = list(itertools.product(lams, topks))

    # metrics[seed][point][split]
    per_seed: list[list[list[dict]]] = []
    for ref in distinct:
        try:
            scorer = make_scorer(method, **kwargs)
        except ScoringError as exc:
            raise EvaluationError(str(exc)) from None
        scorer.fit(
            bundle.image_emb[ref], bundle.image_label[ref], bundle.class_text_emb, bundle.dict_text_emb
        )
        if method == "bliss":
            pre = scorer.precompute(test_emb, max_topk=min(m, max(topks) + extra))
        else:
            fixed = scorer.precompute(test_emb)
        points: list[list[dict]] = [[{} for _ in splits] for _ in grid]
        # Split by split (one exclusion view alive at a time), K before lambda (the external
        # sums of one K serve every lambda): memory stays one view's, however large N is.
        for i, (split, y, drop) in enumerate(zip(splits, labels, excluded)):
            view = pre.excluding(drop, max(topks)) if method == "bliss" else fixed
            baseline: dict | None = None
            for ki, topk in enumerate(topks):
                for li, lam in enumerate(lams):
                    p = li * len(topks) + ki  # its place in grid (lambda-major, as itertools.product)
                    if method != "bliss" and baseline is not None:
                        points[p][i] = baseline
                        continue
                    try:
                        metrics = detection_metrics(y, view.scores(lam, topk, classes=split))
                    except (MetricError, ScoringError) as exc:
                        raise EvaluationError(str(exc)) from None
                    if method != "bliss":
                        baseline = metrics
                    points[p][i] = metrics
            del view
        per_seed.append(points)

    results = []
    n_seeds = len(per_seed)
    for p, (lam, topk) in enumerate(grid):
        auroc = np.array([[per_seed[s][p][i]["auroc"] for i in range(len(splits))] for s in range(n_seeds)])
        split_rows = []
        for i, split in enumerate(splits):
            keys = per_seed[0][p][i].keys()
            row = {k: float(np.mean([per_seed[s][p][i][k] for s in range(n_seeds)])) for k in keys}
            split_rows.append({"normal": list(split), **row})
            if excluded[i]:
                split_rows[-1]["excluded_entries"] = sorted(bundle.dict_names[j] for j in excluded[i])
        res = {
            "lam": lam,
            "topk": topk,
            "splits": split_rows,
            "auroc_mean": float(auroc.mean()),
            "auroc_std": float(auroc.mean(axis=0).std()),
        }
        if shots is not None:
            seed_means = [float(v) for v in auroc.mean(axis=1)] * (len(masks) // n_seeds)
            res.update(
                auroc_seed_means=seed_means,
                auroc_seed_std=float(np.std(np.asarray(seed_means) - seed_means[0])),
            )  # exactly 0 when equal
        results.append(res)
    out: dict = {"method": method, "setup": setup, "results": results}
    if exclude_normal_names:
        out["exclude_normal_names"] = True
    if shots is not None:
        out.update(shots=int(shots), seeds=int(seeds))
    if len(results) == 1:
        out.update({k: v for k, v in results[0].items() if k not in ("lam", "topk")})
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
        lines.append(
            f"  {'mean +/- std':<40} {100 * res['auroc_mean']:6.1f} +/- {100 * res['auroc_std']:.1f}"
        )
    return "\n".join(lines)
