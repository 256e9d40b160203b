"""``bliss diagnose``: the text clustering statistics as JSON and the paper's figures as HTML/PNG.

The HTML files load plotly.js from one ``plotly.min.js`` written beside them (once per folder,
shared by every figure), so they work offline without carrying 4.8 MB each. PNG export goes through
plotly's kaleido, which drives a local Chrome/Chromium; when none is available the PNGs are
skipped with one warning and everything else is still written.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..core.bundle import Bundle
from ..core.diagnostics import (
    bundle_clustering_stats,
    clustering_stats,
    dictionary_similarities,
    error_dict_similarity_correlation,
    error_rates_by_dict_similarity,
)
from ..core.live import LiveScoring
from ..errors import first_line
from .explore import joint_points
from .htmlfiles import figure_page, output_folder, write_plotly_js, write_text
from .projection import project


def _write_pngs(figures: dict[str, object], out: Path) -> list[Path]:
    """All PNGs in one kaleido session; [] with a warning when no browser is available."""
    try:
        import plotly.io as pio

        paths = [out / f"{name}.png" for name in figures]
        if hasattr(pio, "write_images"):
            pio.write_images(list(figures.values()), paths, width=1100, height=650)
        else:  # older plotly
            for fig, path in zip(figures.values(), paths):
                fig.write_image(path, width=1100, height=650)
        return paths
    except Exception as exc:
        print(
            f"bliss: warning: PNG figures skipped ({first_line(exc, 160)}); the HTML figures were written. "
            "PNG export needs `pip install kaleido` and a local Chrome or Chromium.",
            file=sys.stderr,
        )
        return []


def write_diagnostics(
    bundle: Bundle,
    out_dir: str | os.PathLike,
    normal: Sequence[int] | None = None,
    lam: float = 0.5,
    topk: int = 10,
    projections: str | Sequence[str] = ("tsne", "umap"),
    max_points: int = 3000,
    png: bool = True,
) -> list[Path]:
    """Write ``stats.json``, the figures (HTML, and PNG when a browser is available) and the
    ``plotly.min.js`` they share into ``out_dir``; returns the written paths."""
    from . import figures as F

    out = output_folder(out_dir)
    if isinstance(projections, str):
        projections = [p.strip() for p in projections.split(",") if p.strip()]
    normal = [0] if normal is None else [int(c) for c in normal]
    tag = " [UNTRAINED MODEL: random weights]" if bundle.untrained else ""
    tag += " [SIMULATION]" if bundle.is_simulation else ""

    live = LiveScoring(bundle, normal, max_topk=topk, baselines=("internal",))
    view = live.view(lam, topk)
    internal = live.baseline_scores["internal"]
    internal_rates = error_rates_by_dict_similarity(
        live.avg_dict_sim,
        live.is_anomaly,
        internal,
        threshold=float(np.quantile(internal[live.is_anomaly], 0.05)),
    )
    bliss_rates = error_rates_by_dict_similarity(
        live.avg_dict_sim, live.is_anomaly, view.scores, view.threshold
    )

    stats = {
        "bundle": bundle.describe(),
        "meta": bundle.meta,
        "untrained": bundle.untrained,
        "simulation": bundle.is_simulation,
        "clustering": {
            "labels_and_dictionary": bundle_clustering_stats(bundle, include_dictionary=True),
            "labels_only": clustering_stats(bundle.image_emb, bundle.class_text_emb),
        },
        "normal_classes": [bundle.class_names[c] for c in normal],
        "lam": lam,
        "topk": topk,
        "metrics": view.metrics,
        "error_rates": {"internal": internal_rates, "bliss": bliss_rates},
        "error_rate_rank_correlation_with_dict_similarity": {
            "internal": error_dict_similarity_correlation(internal_rates),
            "bliss": error_dict_similarity_correlation(bliss_rates),
        },
    }
    written = [out / "stats.json"]
    write_text(written[0], json.dumps(stats, indent=2, default=float))

    figures: dict[str, object] = {}
    pts = joint_points(bundle, normal, sample_size=max_points)
    for method in projections:
        coords = project(pts.points, method)
        figures[f"projection_{method}"] = F.projection_scatter(
            coords,
            pts.modality,
            pts.text,
            pts.ids,
            pts.class_name,
            title=f"Joint {method.upper()} of image and text embeddings{tag}",
            detail=pts.detail,
        )
    rng = np.random.default_rng(0)
    sample = bundle.image_emb[
        rng.choice(len(bundle.image_emb), size=min(2000, len(bundle.image_emb)), replace=False)
    ]
    figures["similarity_histograms"] = F.similarity_histograms(
        dictionary_similarities(bundle.class_text_emb[normal], bundle.dict_text_emb),
        dictionary_similarities(sample, bundle.dict_text_emb),
        title=f"Similarity to the dictionary: normal-label text vs images{tag}",
    )
    figures["errors_vs_dict_similarity_internal"] = F.error_rate_figure(
        internal_rates, title=f"Internal score only (λ=0): errors vs average dictionary similarity{tag}"
    )
    figures["errors_vs_dict_similarity_bliss"] = F.error_rate_figure(
        bliss_rates, title=f"BLISS (λ={lam:g}, K={topk}): errors vs average dictionary similarity{tag}"
    )
    figures["roc"] = F.roc_figure(
        view.roc,
        {k: v["auroc"] for k, v in view.metrics.items()},
        title=f"ROC curves (anomalies positive){tag}",
    )
    written.append(write_plotly_js(out))
    for name, fig in figures.items():
        path = out / f"{name}.html"
        write_text(path, figure_page(fig))
        written.append(path)
    if png:
        written.extend(_write_pngs(figures, out))
    return written
