"""BLISS scoring: lambda and K sliders, metrics beside the baselines, ROC, scores, heat map, mistakes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bliss_core.app import cached, state
from bliss_core.app.frame import guarded, normal_label, page_setup, run_page, text_line
from bliss_core.app.live_panel import live_panel
from bliss_core.app.scoring_view import live_panel_data, method_rows
from bliss_core.app.sources import Current
from bliss_core.app.tables import safe_csv, show_table
from bliss_core.app.thumbnails import has_pictures, thumb_uri
from bliss_core.app.tour import tour_banner
from bliss_core.app.views import figure_downloads
from bliss_core.core.findings import caveat, gain_finding, knn_finding
from bliss_core.core.live import LiveScoring

page_setup()

CAPTION = (
    "What you are looking at: the anomaly detector at work. λ sets how much of the external (dictionary) "
    "correction is added to the internal label score; K is how many of the image's nearest dictionary words it "
    "uses. λ = 0 is the uncorrected score. Move the sliders and watch AUROC, the ROC curve and the mistakes change."
)
SHOTS = [None, 1, 2, 5, 10, 20, 50, 100, 200]


def _delta(value: float, digits: int, lower_is_better: bool = False) -> dict:
    """st.metric delta arguments: no arrow and no colour when the change rounds to zero."""
    if round(value, digits) == 0:
        return {"delta": f"±{0:.{digits}f}", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": f"{value:+.{digits}f}", "delta_color": "inverse" if lower_is_better else "normal"}


@st.fragment
@guarded
def slider_area(cur: Current, live: LiveScoring, grid: tuple, now: dict, pictures: bool) -> None:
    """What a λ/K move reruns: the sliders, the metrics and the live panel, nothing else."""
    ss = st.session_state
    if ss.get("topk", 10) > live.max_topk:
        ss["topk"] = live.max_topk
    sliders = st.container(horizontal=True, gap="large")  # one block for the three, not four
    sliders.slider(
        "λ — weight of the external (dictionary) score", 0.0, state.LAMBDA_MAX, step=0.05, key="lam"
    )
    sliders.slider("K — nearest dictionary entries per image", 1, live.max_topk, step=1, key="topk")
    sliders.select_slider("Operating point: TPR", [0.8, 0.85, 0.9, 0.95, 0.99], key="tpr", width=200)
    lam, topk, tpr = float(ss["lam"]), int(ss["topk"]), float(ss["tpr"])
    if live.max_topk < state.MAX_TOPK:  # the dictionary (less any excluded names) is that short
        st.caption(f"The dictionary has only {int(live.max_topk)} entries, so K stops there.")
    view = live.view(lam, topk, tpr)
    now.update(lam=lam, topk=topk, view=view)  # what the download buttons below the fragment serve
    data = live_panel_data(
        live,
        view,
        grid,
        thumb=thumb_uri if pictures else None,
        sent=ss.setdefault("thumbs_sent", set()),
        presenter=bool(ss.get("presenter")),
    )
    bliss, internal = view.metrics["bliss"], view.metrics["internal"]
    row = st.container(horizontal=True, gap="medium")  # one block, not a column per metric
    row.metric(
        "BLISS AUROC",
        f"{bliss['auroc']:.4f}",
        **_delta(bliss["auroc"] - internal["auroc"], 4),
        help="Change against λ = 0 (the internal score alone).",
    )
    row.metric("BLISS AUPR", f"{bliss['aupr']:.4f}")
    row.metric(
        "FPR at 95% TPR",
        f"{bliss['fpr95']:.3f}",
        **_delta(bliss["fpr95"] - internal["fpr95"], 3, True),
        help="BLISS's false-positive rate when 95% of anomalies are caught; change against λ = 0.",
    )
    row.metric("False positives", f"{len(view.false_positives):,}")
    row.metric("Missed anomalies", f"{len(view.false_negatives):,}")
    knn = view.metrics.get("knn")
    findings = [
        gain_finding(bliss["auroc"], internal["auroc"], lam, topk),  # numbers only: safe as Markdown
        knn_finding(knn["auroc"] if knn else None, bliss["auroc"]),
    ]
    st.caption(" ".join(f for f in findings if f) + caveat(cur.bundle.untrained, cur.bundle.is_simulation))
    live_panel(data)
    state.sync_query_params()


def downloads(cur: Current, live: LiveScoring, grid: tuple, now: dict) -> None:
    """Download buttons outside the fragment (a move does not resend them); they serve the view
    the sliders show when the button is pressed, which the fragment keeps in ``now``."""
    b = cur.bundle

    def scores_csv() -> str:
        lam, topk, view = now["lam"], now["topk"], now["view"]
        parts = live.pre.components(lam, topk)
        df = pd.DataFrame(
            {
                "id": b.image_names(live.test_idx),
                "class": [b.class_names[int(c)] for c in b.image_label[live.test_idx]],
                "anomaly": live.is_anomaly,
                "bliss": view.scores,
                "internal": parts["internal"],
                "external": parts["external"],
                "nearest_normal_class": [b.class_names[int(c)] for c in parts["nearest_class"]],
                **{f"baseline_{k}": v for k, v in live.baseline_scores.items() if k != "internal"},
                "avg_dict_similarity": live.avg_dict_sim,
                "flagged": view.scores >= view.threshold,
                "lambda": lam,
                "K": topk,
            }
        )
        return safe_csv(df)

    row = st.container(horizontal=True)
    row.download_button(
        "⬇ Scores at the sliders' λ and K (CSV)",
        scores_csv,
        file_name="bliss_scores.csv",
        mime="text/csv",
        on_click="ignore",
        key="dl_scores",
        width="content",
    )
    figure_downloads(row, live, now, grid)


def body(cur: Current) -> None:
    b = cur.bundle
    normal = state.normal_classes(cur.key, b.class_names)
    tour_banner("scoring", cur)
    c1, c2 = st.columns([1, 2])
    shots = c1.selectbox(
        "Reference images per class",
        SHOTS,
        key="shots",
        format_func=lambda s: "all of them" if s is None else f"{s} per class (random draw)",
        help="Fit BLISS and the baselines on a few normal reference images per class, as the "
        "paper's few-shot experiment does (10 per class holds up).",
    )
    exclude = c2.toggle(
        "Leave the normal classes' own names out of the dictionary",
        key="exclude_names",
        help="Dictionary entries equal to a normal class's name (ignoring case) are left out of "
        "the external score, the line the official code has commented out.",
    )
    with st.spinner("Fitting class statistics and the baselines (once per choice of normal classes)…"):
        live = cached.live_scoring(cur.key, tuple(normal), b, shots, exclude)
        grid = cached.auroc_grid((cur.key, tuple(normal), shots, exclude), live)
    st.markdown(
        "**Normal:** "
        + ", ".join(normal_label(b, c) for c in normal)
        + " · **anomalies:** every other class in the test set"
    )
    if live.excluded:
        text_line(f"Left out of the dictionary: {', '.join(sorted(b.dict_names[j] for j in live.excluded))}")
    now: dict = {}
    slider_area(cur, live, grid, now, has_pictures(b.image_id))
    downloads(cur, live, grid, now)
    with st.expander("Baselines (they do not depend on λ and K)"):
        show_table(pd.DataFrame(method_rows(live.baseline_metrics, ("internal", "maxsim", "knn"))))


run_page("BLISS scoring", CAPTION, body)
