"""The figures and tables the pages lay out, built from a bundle (pure functions, no Streamlit
widgets), so that pages hold layout only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analysis import figures as F
from ..analysis.explore import JointPoints, describe_ids, joint_points, selected_ids
from ..analysis.projection import warm_up
from ..core.bundle import Bundle
from ..core.diagnostics import dictionary_similarities, error_rates_by_dict_similarity, threshold_at_tpr
from ..core.live import LiveScoring

__all__ = [
    "F",
    "JointPoints",
    "describe_ids",
    "dictionary_similarity_values",
    "error_rate_figures",
    "error_rates",
    "figure_downloads",
    "joint_points",
    "projection_figure",
    "selected_ids",
    "similarity_figures",
    "warm_up",
    "whatif_figure",
]


def projection_figure(coords: np.ndarray, jp: JointPoints, color_by: str, title: str) -> Any:
    """The joint scatter of images, labels and dictionary entries."""
    return F.projection_scatter(
        coords,
        jp.modality,
        jp.text,
        jp.ids,
        jp.class_name,
        color_by=color_by,
        title=title,
        template=None,
        detail=jp.detail,
    )


def dictionary_similarity_values(
    bundle: Bundle, normal: Sequence[int], sample: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Normal labels' and sampled images' similarities to every dictionary entry (flattened)."""
    return (
        dictionary_similarities(bundle.class_text_emb[list(normal)], bundle.dict_text_emb),
        dictionary_similarities(bundle.image_emb[sample], bundle.dict_text_emb),
    )


def similarity_figures(label_sims: np.ndarray, image_sims: np.ndarray, live: LiveScoring) -> tuple[Any, Any]:
    """Label-vs-dictionary against image-vs-dictionary similarities, and the per-image average."""
    return (
        F.similarity_histograms(label_sims, image_sims, template=None),
        F.avg_dict_similarity_histogram(live.avg_dict_sim, live.is_anomaly, template=None),
    )


def error_rates(
    live: LiveScoring, scores: np.ndarray, tpr: float, n_bins: int, threshold: float | None = None
) -> dict:
    """Error rates against average dictionary similarity at the threshold catching ``tpr``
    (pass it as ``threshold`` when a :class:`LiveView` already has it)."""
    thr = threshold_at_tpr(live.is_anomaly, scores, tpr) if threshold is None else threshold
    return error_rates_by_dict_similarity(live.avg_dict_sim, live.is_anomaly, scores, thr, n_bins=n_bins)


def error_rate_figures(named_rates: Sequence[tuple[str, dict]]) -> list[Any]:
    """One figure per (title, rates), all on the same rate scale so that they compare at a glance."""
    top = max(
        (
            r
            for _, rates in named_rates
            for key in ("fn_rate", "fp_rate")
            for r in rates[key]
            if r is not None
        ),
        default=1.0,
    )
    return [F.error_rate_figure(rates, title=name, template=None, y_max=top) for name, rates in named_rates]


def whatif_figure(
    n_images: int, internal: np.ndarray, external: np.ndarray, score: np.ndarray, threshold: float, title: str
) -> Any:
    """Internal, external and BLISS scores per image with the verdict threshold."""
    return F.whatif_bars(
        [f"#{i + 1}" for i in range(n_images)],
        {"internal": internal, "external": external, "BLISS": score},
        threshold=threshold,
        title=title,
        template=None,
    )


def figure_downloads(where: Any, live: LiveScoring, now: dict, grid: tuple) -> None:
    """Download buttons (in the container ``where``) for the ROC curves, the score histogram and the heat map as
    self-contained HTML, for the view in ``now["view"]`` when a button is pressed (the figures
    are built only then)."""
    from ..analysis.figures import figure_html
    from .scoring_view import heat_cell

    def roc_html() -> str:
        view = now["view"]
        aurocs = {k: v["auroc"] for k, v in view.metrics.items()}
        return figure_html(F.roc_figure(view.roc, aurocs, template=None))

    def hist_html() -> str:
        view = now["view"]
        return figure_html(
            F.score_histogram(
                view.scores,
                live.is_anomaly,
                view.threshold,
                title=f"BLISS scores at λ = {view.lam:g}, K = {view.topk}",
                template=None,
            )
        )

    def heat_html() -> str:
        view = now["view"]
        lams, topks, z = grid
        li, ki = heat_cell(lams, topks, view.lam, view.topk)
        return figure_html(F.auroc_heatmap(lams, topks, z, current=(lams[li], topks[ki]), template=None))

    where.download_button(
        "⬇ ROC curves (HTML)",
        roc_html,
        file_name="roc_curves.html",
        mime="text/html",
        on_click="ignore",
        key="dl_roc",
        width="content",
    )
    where.download_button(
        "⬇ Score histogram (HTML)",
        hist_html,
        file_name="score_histogram.html",
        mime="text/html",
        on_click="ignore",
        key="dl_hist",
        width="content",
    )
    where.download_button(
        "⬇ λ×K heat map (HTML)",
        heat_html,
        file_name="auroc_heatmap.html",
        mime="text/html",
        on_click="ignore",
        key="dl_heat",
        width="content",
    )
