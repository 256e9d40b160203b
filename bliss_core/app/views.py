"""The figures and tables the pages lay out, built from a bundle (pure functions, no Streamlit
widgets), so that pages hold layout only."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..analysis import figures as F
from ..analysis.explore import JointPoints, describe_ids, joint_points, selected_ids
from ..analysis.projection import warm_up
from ..core.bundle import Bundle
from ..core.diagnostics import dictionary_similarities, error_rates_by_dict_similarity, threshold_at_tpr
from ..core.live import LiveScoring

__all__ = ["F", "JointPoints", "joint_points", "describe_ids", "selected_ids", "warm_up", "projection_figure",
           "similarity_figures", "error_rate_figures", "whatif_figure"]


def projection_figure(coords: np.ndarray, jp: JointPoints, color_by: str, title: str) -> Any:
    """The joint scatter of images, labels and dictionary entries."""
    return F.projection_scatter(coords, jp.modality, jp.text, jp.ids, jp.class_name, color_by=color_by,
                                title=title, template=None)


def similarity_figures(bundle: Bundle, normal: Sequence[int], live: LiveScoring, sample: np.ndarray) -> tuple[Any, Any]:
    """Label-vs-dictionary against image-vs-dictionary similarities, and the per-image average."""
    label_sims = dictionary_similarities(bundle.class_text_emb[list(normal)], bundle.dict_text_emb)
    image_sims = dictionary_similarities(bundle.image_emb[sample], bundle.dict_text_emb)
    return (F.similarity_histograms(label_sims, image_sims, template=None),
            F.avg_dict_similarity_histogram(live.avg_dict_sim, live.is_anomaly, template=None))


def error_rate_figures(live: LiveScoring, named_scores: Sequence[tuple[str, np.ndarray]], tpr: float,
                       n_bins: int) -> list[Any]:
    """Error rates against average dictionary similarity, one figure per (title, scores)."""
    out = []
    for name, scores in named_scores:
        thr = threshold_at_tpr(live.is_anomaly, scores, tpr)
        rates = error_rates_by_dict_similarity(live.avg_dict_sim, live.is_anomaly, scores, thr, n_bins=n_bins)
        out.append(F.error_rate_figure(rates, title=name, template=None))
    return out


def whatif_figure(n_images: int, internal: np.ndarray, external: np.ndarray, score: np.ndarray,
                  threshold: float, title: str) -> Any:
    """Internal, external and BLISS scores per image with the verdict threshold."""
    return F.whatif_bars([f"#{i + 1}" for i in range(n_images)],
                         {"internal": internal, "external": external, "BLISS": score},
                         threshold=threshold, title=title, template=None)


def figure_downloads(where: Any, live: LiveScoring, view: Any, grid: tuple) -> None:
    """Download buttons (in the container ``where``) for the ROC curves and the heat map as
    self-contained HTML; the figures are built only when a button is pressed."""
    from ..analysis.figures import figure_html
    from .scoring_view import heat_cell

    def roc_html() -> str:
        aurocs = {k: v["auroc"] for k, v in view.metrics.items()}
        return figure_html(F.roc_figure(view.roc, aurocs, template=None))

    def heat_html() -> str:
        lams, topks, z = grid
        li, ki = heat_cell(lams, topks, view.lam, view.topk)
        return figure_html(F.auroc_heatmap(lams, topks, z, current=(lams[li], topks[ki]), template=None))

    where.download_button("⬇ ROC curves (HTML)", roc_html, file_name="roc_curves.html", mime="text/html",
                          on_click="ignore", key="dl_roc", width="content")
    where.download_button("⬇ λ×K heat map (HTML)", heat_html, file_name="auroc_heatmap.html", mime="text/html",
                          on_click="ignore", key="dl_heat", width="content")
