"""The paper's protocol: AUROC (anomalies positive) over splits, for a grid of (lambda, K).

:func:`evaluate` runs it in steps: check the request (:func:`_plan`), draw the reference images
per seed (:func:`few_shot_mask`), score each split (:func:`_score_bliss` for BLISS, whose work is
shared by every split and grid point; :func:`_score_fixed` for the scores with no lambda and K),
and summarise over splits and seeds (:func:`_summary`). Every method side by side (the research
table) is :mod:`.research`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import EvaluationError, MetricError, ScoringError
from .bundle import Bundle
from .kernels import take_rows
from .metrics import detection_metrics
from .scorers.checks import check_lambda, check_topk
from .splits import check_normal, validate_splits

__all__ = [
    "METHODS",
    "EvaluationError",
    "MethodOptions",
    "evaluate",
    "few_shot_mask",
    "format_table",
    "normal_name_entries",
    "split_name",
    "split_test_labels",
]

#: What ``method=`` accepts (``bliss evaluate --method``; ``all`` is :func:`evaluate_all`'s).
METHODS = ("bliss", "maxsim", "knn", "mcm", "neglabel", "gapshift")
#: Methods fitted split by split: what they learn depends on the split's labels (NegLabel's
#: negatives, the gap's Δ), so one fit on the union of the splits would not do.
PER_SPLIT = ("neglabel", "gapshift")


@dataclass(frozen=True)
class MethodOptions:
    """The knobs of the methods other than BLISS (``bliss evaluate``'s flags).

    ``knn_k``: neighbours of kNN. ``negatives``/``groups``/``seed``: NegLabel's M, G and the
    grouping's permutation seed (None: the defaults, 15% of the candidates and 100 groups).
    ``gap_texts``/``gap_delta``: the gap shift's texts (``labels`` or ``dictionary``) and δ
    (None: ‖Δ‖, the gap closed).
    """

    knn_k: int = 5
    negatives: int | None = None
    groups: int | None = None
    seed: int = 0
    gap_texts: str = "labels"
    gap_delta: float | None = None

    def params(self, method: str, backend: Any) -> dict[str, Any]:
        """The scorer parameters of ``method`` (text embeddings apart)."""
        if method == "knn":
            return {"k": self.knn_k, "backend": backend}
        if method == "neglabel":
            return {"n_negatives": self.negatives, "n_groups": self.groups, "seed": self.seed}
        if method == "gapshift":
            return {"gap_texts": self.gap_texts, "delta": self.gap_delta}
        return {"backend": backend}


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


@dataclass
class _Plan:
    """A checked request: the splits, their anomaly labels and dictionary exclusions, the grid
    and the reference-image masks (one per distinct seed draw)."""

    method: str
    splits: list[list[int]]
    lams: list[float]
    topks: list[int]
    labels: list[np.ndarray]
    excluded: list[set[int]]
    masks: list[np.ndarray]
    distinct: list[np.ndarray]
    grid: list[tuple[float, int]] = field(default_factory=list)


def _check_counts(shots: int | None, seeds: int) -> None:
    if shots is not None and (int(shots) != shots or shots < 1):
        raise EvaluationError(f"--shots must be a whole number >= 1, got {shots}.")
    if int(seeds) != seeds or seeds < 1:
        raise EvaluationError(f"--seeds must be a whole number >= 1, got {seeds}.")


def _plan(bundle, splits, lams, topks, method, exclude_normal_names, shots, seeds) -> _Plan:
    if method not in METHODS:
        raise EvaluationError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    splits = validate_splits(splits, bundle.class_names)
    lams = [check_lambda(v) for v in lams]
    m = len(bundle.dict_names)
    topks = [check_topk(k, m) for k in topks]
    if not lams or not topks:
        raise EvaluationError("give at least one lambda and one K.")
    _check_counts(shots, seeds)
    single = [s for s in splits if len(s) < 2]
    if method == "mcm" and single:
        raise EvaluationError(
            f"MCM needs at least two normal classes per split, but split {single[0]} has one."
        )
    labels = [split_test_labels(bundle, s) for s in splits]
    union = check_normal(bundle, [c for s in splits for c in s], allow_all_normal=True)
    uses_names = exclude_normal_names and method in ("bliss", "neglabel")
    excluded = [normal_name_entries(bundle, s) if uses_names else set() for s in splits]
    for split, drop in zip(splits, excluded, strict=True):
        if method == "bliss" and max(topks) > m - len(drop):
            raise EvaluationError(
                f"K={max(topks)} is larger than the {m - len(drop)} dictionary entries left for "
                f"split {split} after excluding its class names."
            )
    n_draws = int(seeds) if shots is not None else 1
    masks = [few_shot_mask(bundle, union, shots, seed) for seed in range(n_draws)]
    # Shots at least as large as every class draw every image for every seed: one evaluation,
    # exactly the full one.
    distinct = [masks[0]] if all(np.array_equal(masks[0], mk) for mk in masks[1:]) else masks
    grid = list(itertools.product(lams, topks))
    return _Plan(method, splits, lams, topks, labels, excluded, masks, distinct, grid)


def _metrics(y: np.ndarray, scores_of: Any) -> dict:
    try:
        return detection_metrics(y, scores_of())
    except (MetricError, ScoringError) as exc:
        raise EvaluationError(str(exc)) from None


def _scorer(method: str, params: dict[str, Any], bundle: Bundle, dict_rows: Any = None) -> Any:
    """The scorer of ``method`` with the bundle's texts (the dictionary's ``dict_rows`` only)."""
    from .scorers import SCORERS, make_scorer

    names = SCORERS[method]._get_param_names()
    texts = {"class_text_emb": bundle.class_text_emb, "dict_text_emb": bundle.dict_text_emb}
    if dict_rows is not None:
        texts["dict_text_emb"] = bundle.dict_text_emb[dict_rows]
    try:
        return make_scorer(method, **params, **{k: v for k, v in texts.items() if k in names})
    except ScoringError as exc:
        raise EvaluationError(str(exc)) from None


def _score_bliss(plan: _Plan, bundle: Bundle, ref: np.ndarray, test: Any, backend: Any) -> list[list[dict]]:
    """metrics[point][split] of BLISS: one fit and one precomputation serve every split and
    (lambda, K); split by split (one exclusion view alive at a time), K before lambda (the
    external sums of one K serve every lambda), so memory stays one view's however large N is."""
    m = len(bundle.dict_names)
    extra = max(len(e) for e in plan.excluded)
    scorer = _scorer("bliss", {"lam": plan.lams[0], "topk": plan.topks[0], "backend": backend}, bundle)
    try:
        scorer.fit(bundle.image_emb[ref], bundle.image_label[ref])
    except ScoringError as exc:
        raise EvaluationError(str(exc)) from None
    pre = scorer.precompute(test, max_topk=min(m, max(plan.topks) + extra))
    points: list[list[dict]] = [[{} for _ in plan.splits] for _ in plan.grid]
    for i, (split, y, drop) in enumerate(zip(plan.splits, plan.labels, plan.excluded, strict=True)):
        view = pre.excluding(drop, max(plan.topks))
        for ki, topk in enumerate(plan.topks):
            for li, lam in enumerate(plan.lams):
                p = li * len(plan.topks) + ki  # its place in grid (lambda-major, as itertools.product)
                points[p][i] = _metrics(y, lambda v=view, la=lam, k=topk, s=split: v.scores(la, k, classes=s))
        del view
    return points


def _score_fixed(plan: _Plan, bundle: Bundle, ref: np.ndarray, test: Any, params: dict) -> list[list[dict]]:
    """metrics[point][split] of a score without lambda and K (the same for every grid point).
    Baselines are fitted once on the union of the splits; NegLabel and the gap shift split by
    split, on the split's references and (NegLabel) its candidates."""
    labels = bundle.image_label
    per_split = plan.method in PER_SPLIT
    shared = None
    row = []
    for split, y, drop in zip(plan.splits, plan.labels, plan.excluded, strict=True):
        if shared is None or per_split:
            keep = np.setdiff1d(np.arange(len(bundle.dict_names)), sorted(drop)) if drop else None
            scorer = _scorer(plan.method, params, bundle, keep)
            fit_on = ref & np.isin(labels, split) if per_split else ref
            try:
                shared = scorer.fit(bundle.image_emb[fit_on], labels[fit_on]).precompute(test)
            except ScoringError as exc:
                raise EvaluationError(str(exc)) from None
        row.append(_metrics(y, lambda pre=shared, s=split: pre.scores(classes=s)))
    return [row for _ in plan.grid]


def _summary(plan: _Plan, bundle: Bundle, per_seed: list[list[list[dict]]], shots: int | None) -> list[dict]:
    """One result per grid point: per-split metrics (means over seeds) and AUROC mean/std."""
    results = []
    n_seeds, n_splits = len(per_seed), len(plan.splits)
    for p, (lam, topk) in enumerate(plan.grid):
        auroc = np.array([[per_seed[s][p][i]["auroc"] for i in range(n_splits)] for s in range(n_seeds)])
        split_rows = []
        for i, split in enumerate(plan.splits):
            keys = per_seed[0][p][i].keys()
            row = {k: float(np.mean([per_seed[s][p][i][k] for s in range(n_seeds)])) for k in keys}
            split_rows.append({"normal": list(split), **row})
            if plan.excluded[i]:
                split_rows[-1]["excluded_entries"] = sorted(bundle.dict_names[j] for j in plan.excluded[i])
        res = {
            "lam": lam,
            "topk": topk,
            "splits": split_rows,
            "auroc_mean": float(auroc.mean()),
            "auroc_std": float(auroc.mean(axis=0).std()),
        }
        if shots is not None:
            seed_means = [float(v) for v in auroc.mean(axis=1)] * (len(plan.masks) // n_seeds)
            res.update(
                auroc_seed_means=seed_means,
                auroc_seed_std=float(np.std(np.asarray(seed_means) - seed_means[0])),
            )  # exactly 0 when equal
        results.append(res)
    return results


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
    options: MethodOptions | None = None,
) -> dict:
    """Evaluate ``method`` (one of :data:`METHODS`) on every split for every (lambda, K);
    returns the JSON-ready result.

    Work that does not depend on lambda and K (class statistics, test similarities, top-K
    dictionary entries) is done once for all splits and all grid points.

    ``exclude_normal_names``: per split, dictionary entries equal to a normal class's name are
    left out of BLISS's external score and of NegLabel's candidates. ``shots``: for each of
    ``seeds`` seeds (0, 1, ...), that many reference images per normal class drawn at random
    (all of a class that has fewer); ``auroc_mean`` is then over splits and seeds,
    ``auroc_std`` over splits (of the seed means) and ``auroc_seed_std`` over seeds (of the
    split means). ``backend`` runs the array work (:mod:`bliss_core.core.kernels`).
    ``options``: the other methods' knobs (:class:`MethodOptions`; ``knn_k`` when not given).
    """
    plan = _plan(bundle, splits, lams, topks, method, exclude_normal_names, shots, seeds)
    opts = options if options is not None else MethodOptions(knn_k=knn_k)
    # the test rows without a copy (a slice of a memory-mapped bundle is read block by block)
    test = take_rows(bundle.image_emb, ~bundle.image_is_train)
    per_seed = [
        _score_bliss(plan, bundle, ref, test, backend)
        if method == "bliss"
        else _score_fixed(plan, bundle, ref, test, opts.params(method, backend))
        for ref in plan.distinct
    ]
    results = _summary(plan, bundle, per_seed, shots)
    out: dict = {"method": method, "setup": setup, "results": results}
    if method != "bliss":
        out["options"] = _options_json(method, opts)
    if exclude_normal_names:
        out["exclude_normal_names"] = True
    if shots is not None:
        out.update(shots=int(shots), seeds=int(seeds))
    if len(results) == 1:
        out.update({k: v for k, v in results[0].items() if k not in ("lam", "topk")})
    return out


def _options_json(method: str, opts: MethodOptions) -> dict[str, Any]:
    """The knobs a method ran with, as given (None = the method's default)."""
    params = opts.params(method, None)
    params.pop("backend", None)
    return params


def format_table(result: dict, class_names: Sequence[str] | None = None) -> str:
    """A readable table of an :func:`evaluate` result, AUROC in percent with one decimal;
    splits are named by class name when ``class_names`` is given."""
    lines = [f"method: {result['method']}   setup: {result['setup'] or 'custom'}"]
    if result.get("options"):
        lines.append("options: " + ", ".join(f"{k}={v}" for k, v in result["options"].items()))
    for res in result["results"]:
        head = f"lambda={res['lam']:g}  K={res['topk']}" if result["method"] == "bliss" else ""
        lines.append("")
        if head:
            lines.append(head)
        lines.append(f"  {'normal classes':<40} {'AUROC':>6} {'AUPR':>6} {'FPR95':>6}")
        lines.extend(
            f"  {split_name(row['normal'], class_names):<40} {100 * row['auroc']:6.1f} "
            f"{100 * row['aupr']:6.1f} {100 * row['fpr95']:6.1f}"
            for row in res["splits"]
        )
        lines.append(
            f"  {'mean +/- std':<40} {100 * res['auroc_mean']:6.1f} +/- {100 * res['auroc_std']:.1f}"
        )
    return "\n".join(lines)


def split_name(normal: Sequence[int], class_names: Sequence[str] | None, width: int = 40) -> str:
    """A split by its class names (indices without names), cut to ``width`` characters."""
    names = ",".join(class_names[c] if class_names is not None else str(c) for c in normal)
    return names if len(names) <= width else names[: width - 3] + "..."
