"""The research table: every method on the same embeddings and splits, side by side
(``bliss evaluate --method all``).

Columns: ``internal`` (BLISS at lambda = 0: the normal-label similarity z-scored per class, no
correction), ``bliss`` (at the given lambda and K), ``maxsim`` (CLIP's zero-shot score),
``knn`` (images only), ``mcm`` (undefined with one normal class: shown as n/a), ``neglabel``
and ``gapshift``. Each cell is the AUROC of :func:`~bliss_core.core.evaluate.evaluate` for that
method, per split and as the mean and standard deviation over the splits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .bundle import Bundle
from .evaluate import METHODS, MethodOptions, evaluate, split_name
from .scorers.checks import check_lambda, check_topk

__all__ = ["COLUMNS", "evaluate_all", "format_research_table"]

#: The research table's columns, in order (``internal`` is BLISS at lambda = 0).
COLUMNS = ("internal", "bliss", "maxsim", "knn", "mcm", "neglabel", "gapshift")
#: Column headings of the printed table.
HEADINGS = {
    "internal": "internal",
    "bliss": "BLISS",
    "maxsim": "max-sim",
    "knn": "kNN",
    "mcm": "MCM",
    "neglabel": "NegLabel",
    "gapshift": "Gap shift",
}


def _setup_methods(bundle: Bundle, splits: Sequence[Sequence[int]], lam: float, topk: int, **kw: Any) -> dict:
    """Every column's :func:`evaluate` result on one set of splits (None: MCM on one class)."""
    lams = list(dict.fromkeys([lam, 0.0]))
    both = evaluate(bundle, splits, lams, [topk], "bliss", **kw)
    out: dict[str, Any] = {}
    for name, point_lam in (("internal", 0.0), ("bliss", lam)):
        res = next(r for r in both["results"] if r["lam"] == point_lam)
        out[name] = {"method": "bliss", **{k: v for k, v in both.items() if k != "results"}, **res}
        out[name].pop("lam", None)
        out[name].update(lam=point_lam, topk=topk)
    for method in METHODS[1:]:
        if method == "mcm" and any(len(s) < 2 for s in splits):
            out[method] = None  # its softmax over one label is always 1
            continue
        res = evaluate(bundle, splits, [lam], [topk], method, **kw)
        res.pop("results", None)
        out[method] = res
    return out


def evaluate_all(
    bundle: Bundle,
    setups: Sequence[tuple[str | None, Sequence[Sequence[int]]]],
    lam: float = 0.5,
    topk: int = 10,
    *,
    exclude_normal_names: bool = False,
    shots: int | None = None,
    seeds: int = 1,
    backend: Any = "numpy",
    options: MethodOptions | None = None,
) -> dict:
    """``{"method": "all", "lam", "topk", "setups": [{"setup", "splits", "methods"}]}``:
    for each (setup name, splits), every column's result (``methods[m]["splits"][i]["auroc"]``,
    ``methods[m]["auroc_mean"]``; None where a method is undefined)."""
    lam, topk = check_lambda(lam), check_topk(topk, len(bundle.dict_names))
    kw: dict[str, Any] = dict(
        exclude_normal_names=exclude_normal_names, shots=shots, seeds=seeds, backend=backend, options=options
    )
    rows = []
    for name, splits in setups:
        methods = _setup_methods(bundle, splits, lam, topk, setup=name, **kw)
        rows.append({"setup": name, "splits": [list(s) for s in splits], "methods": methods})
    out: dict[str, Any] = {"method": "all", "lam": lam, "topk": topk, "setups": rows}
    if options is not None:
        out["options"] = {k: v for k, v in vars(options).items()}
    return out


def _cell(result: dict | None, i: int | None) -> str:
    if result is None:
        return "n/a"
    value = result["auroc_mean"] if i is None else result["splits"][i]["auroc"]
    return f"{100 * value:.1f}"


def format_research_table(result: dict, class_names: Sequence[str] | None = None) -> str:
    """The research table as text: per setup, one row per split, then the mean and standard
    deviation over the splits; AUROC in percent with one decimal."""
    lines = [
        f"AUROC in percent (anomalies positive); BLISS at lambda={result['lam']:g}, K={result['topk']}; "
        "internal = BLISS at lambda=0"
    ]
    head = "".join(f" {HEADINGS[c]:>9}" for c in COLUMNS)
    for block in result["setups"]:
        methods = block["methods"]
        lines += ["", f"setup: {block['setup'] or 'custom'}", f"  {'normal classes':<32}{head}"]
        for i, split in enumerate(block["splits"]):
            cells = "".join(f" {_cell(methods[c], i):>9}" for c in COLUMNS)
            lines.append(f"  {split_name(split, class_names, 32):<32}{cells}")
        lines.append(f"  {'mean':<32}" + "".join(f" {_cell(methods[c], None):>9}" for c in COLUMNS))
        stds = ["n/a" if methods[c] is None else f"{100 * methods[c]['auroc_std']:.1f}" for c in COLUMNS]
        lines.append(f"  {'std over splits':<32}" + "".join(f" {s:>9}" for s in stds))
    return "\n".join(lines)
