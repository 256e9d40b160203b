"""The HTML report of ``bliss compare``: several bundles side by side.

``compare.html`` shows the rows of :func:`bliss_core.core.compare.compare_bundles` as a table,
their clustering statistics and AUROCs as grouped bars, and each bundle's joint projection of
images and texts as small multiples (one method for all, so the pictures compare). It loads
``plotly.min.js`` from its own folder, as every HTML file the CLI writes does
(:mod:`bliss_core.analysis.htmlfiles`); ``compare.json`` beside it holds the same numbers.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.bundle import Bundle
from ..core.compare import AUROC_METHODS, CLUSTERING_KEYS
from .explore import joint_points
from .htmlfiles import figure_div, output_folder, report_page, table_html, write_plotly_js, write_text
from .projection import project

__all__ = ["STAT_LABELS", "compare_figures", "display_names", "write_compare_report"]

STAT_LABELS = {
    "text_text": "text ↔ text",
    "image_image": "image ↔ image",
    "image_text": "image ↔ text",
    "modality_gap": "modality gap",
}


def display_names(rows: Sequence[dict]) -> list[str]:
    """A distinct label per row: its name, numbered when two rows share one, and marked
    UNTRAINED or SIMULATION when it is."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for row in rows:
        base = str(row.get("name") or "bundle")
        seen[base] = seen.get(base, 0) + 1
        label = base if seen[base] == 1 else f"{base} ({seen[base]})"
        if row.get("untrained"):
            label += " [UNTRAINED]"
        if row.get("simulation"):
            label += " [SIMULATION]"
        out.append(label)
    return out


def compare_figures(result: dict[str, Any], names: Sequence[str] | None = None) -> dict[str, Any]:
    """The bar charts of a comparison: ``clustering`` (the four statistics per bundle) and
    ``auroc`` (each method's mean AUROC per bundle)."""
    from . import figures as F

    rows = result["bundles"]
    names = list(names or display_names(rows))
    stats = F.grouped_bars(
        [STAT_LABELS[k] for k in CLUSTERING_KEYS],
        {n: [r["clustering"][k] for k in CLUSTERING_KEYS] for n, r in zip(names, rows)},
        title="Text clustering statistics",
        yaxis="mean cosine similarity / distance",
    )
    lam, topk = result["lam"], result["topk"]
    method_names = {**F.METHOD_NAMES, "bliss": f"BLISS (λ={lam:g}, K={topk})"}
    auroc = F.grouped_bars(
        names,
        {method_names[m]: [r["auroc"][m] for r in rows] for m in AUROC_METHODS},
        title="Mean AUROC over the splits (anomalies positive)",
        yaxis="AUROC",
        colors={method_names[m]: F.METHOD_COLORS[m] for m in AUROC_METHODS},
    )
    auroc.update_yaxes(range=[max(0.0, min(min(r["auroc"].values()) for r in rows) - 0.05), 1.0])
    return {"clustering": stats, "auroc": auroc}


def _table(result: dict[str, Any], names: Sequence[str]) -> str:
    header = [
        "bundle",
        "model",
        "weights",
        "prompt",
        "dictionary",
        *[STAT_LABELS[k] for k in CLUSTERING_KEYS],
        *[f"AUROC {m}" for m in AUROC_METHODS],
        "BLISS gain",
        "best λ",
        "best K",
        "best AUROC",
    ]
    rows = []
    for name, r in zip(names, result["bundles"]):
        m, a, b = r["meta"], r["auroc"], r["best"]
        rows.append(
            [
                name,
                m.get("model"),
                m.get("weights"),
                m.get("prompt"),
                m.get("dictionary"),
                *[float(r["clustering"][k]) for k in CLUSTERING_KEYS],
                *[float(a[k]) for k in AUROC_METHODS],
                f"{a['bliss'] - a['internal']:+.4f}",
                f"{b['lam']:g}",
                b["topk"],
                float(b["auroc"]),
            ]
        )
    return table_html(header, rows)


def write_compare_report(
    result: dict[str, Any],
    bundles: Sequence[Bundle],
    out_dir: str | os.PathLike,
    projection: str = "tsne",
    max_points: int = 1000,
) -> list[Path]:
    """Write ``compare.html``, ``compare.json`` and ``plotly.min.js`` into ``out_dir`` (created
    when missing); returns the paths written. ``bundles`` are in the order of ``result["bundles"]``."""
    from . import figures as F

    out = output_folder(out_dir)
    rows = result["bundles"]
    names = display_names(rows)
    figs = compare_figures(result, names)
    cells = []
    for name, row, bundle in zip(names, rows, bundles):
        normal = [bundle.class_names.index(c) for c in row["splits"][0]] if row["splits"] else [0]
        pts = joint_points(bundle, normal, sample_size=max_points)
        coords = project(pts.points, projection)
        fig = F.projection_scatter(
            coords, pts.modality, pts.text, pts.ids, pts.class_name, height=420, detail=pts.detail
        )
        cells.append(f'<div class="cell"><h3>{html.escape(name)}</h3>{figure_div(fig)}</div>')
    setup = result.get("setup") or "custom splits"
    warn = ""
    if any(r.get("untrained") for r in rows):
        warn = (
            '<p class="warn">Bundles marked UNTRAINED come from models with random weights: their numbers '
            "say nothing about the model or BLISS.</p>"
        )
    body = (
        f'<p class="note">Setup: {html.escape(str(setup))}; BLISS at λ = {result["lam"]:g}, K = {result["topk"]}; '
        "AUROCs are means over the splits; the best (λ, K) is searched on a grid. Texts are each bundle's class "
        "labels and dictionary entries.</p>"
        + warn
        + "<h2>Bundles</h2>"
        + _table(result, names)
        + '<h2>Statistics and AUROCs</h2><div class="grid">'
        + "".join(f'<div class="cell">{figure_div(f)}</div>' for f in figs.values())
        + "</div>"
        + f"<h2>Joint {html.escape(projection.upper())} of images and texts, per bundle</h2>"
        '<p class="note">Stars: class-name texts (red: the first split\'s normal classes); diamonds: dictionary '
        "entries; dots: images.</p>" + '<div class="grid">' + "".join(cells) + "</div>"
    )
    written = [write_plotly_js(out)]
    written.append(write_text(out / "compare.html", report_page("bliss compare", body)))
    written.append(write_text(out / "compare.json", json.dumps(result, indent=2)))
    return written
