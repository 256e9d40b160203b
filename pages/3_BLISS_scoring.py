"""BLISS scoring: lambda and K sliders, metrics beside baselines, ROC, error galleries, heat map."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bliss_core.app import cached, state
from bliss_core.app.frame import download_figure, guarded, normal_label, page_setup, run_page
from bliss_core.app.scoring_view import scoring_payload
from bliss_core.app.tables import safe_csv
from bliss_core.app.sources import Current
from bliss_core.app.thumbnails import thumb_for

page_setup()

CAPTION = (
    "What you are looking at: the anomaly detector at work. λ sets how much of the external (dictionary) "
    "correction is added to the internal label score; K is how many of the image's nearest dictionary words it "
    "uses. λ = 0 is the uncorrected score. Move the sliders and watch AUROC, the ROC curve and the mistakes change."
)


def _gallery(title: str, items: list[dict], total: int, help_text: str) -> None:
    st.markdown(f"##### {title} — {total:,} at this threshold")
    st.caption(help_text)
    if not items:
        st.write("None.")
        return
    thumbs = [thumb_for(it["id"]) for it in items]
    if any(t is not None for t in thumbs):
        cols = st.columns(6)
        for i, (it, t) in enumerate(zip(items, thumbs)):
            with cols[i % 6]:
                if t is not None:
                    st.image(t, width=96)
                st.caption(f"{it['class']} · score {it['score']:.2f}")
    else:
        df = pd.DataFrame(items).drop(columns=["global_id"])
        st.dataframe(df, hide_index=True, height=min(460, 38 + 35 * len(df)),
                     column_config={"score": st.column_config.NumberColumn(format="%.3f"),
                                    "avg dict sim": st.column_config.NumberColumn(format="%.4f")})


@st.fragment
@guarded
def slider_area(cur: Current, normal: list[int]) -> None:
    live = cached.live_scoring(cur.key, tuple(normal), cur.bundle)
    ss = st.session_state
    if ss.get("topk", 10) > live.max_topk:
        ss["topk"] = live.max_topk
    c1, c2, c3 = st.columns([2, 2, 1])
    c1.slider("λ — weight of the external (dictionary) score", 0.0, state.LAMBDA_MAX, step=0.05, key="lam")
    c2.slider("K — nearest dictionary entries per image", 1, live.max_topk, step=1, key="topk")
    c3.select_slider("Operating point: TPR", [0.8, 0.85, 0.9, 0.95, 0.99], key="tpr")
    lam, topk, tpr = float(ss["lam"]), int(ss["topk"]), float(ss["tpr"])
    if len(cur.bundle.dict_names) < state.MAX_TOPK:
        st.caption(f"The dictionary has only {len(cur.bundle.dict_names)} entries, so K stops there.")
    grid = cached.auroc_grid(cur.key, tuple(normal), live)
    p = scoring_payload(live, lam, topk, tpr, grid=grid)
    view = p["view"]
    bliss, internal = view.metrics["bliss"], view.metrics["internal"]
    m = st.columns(5)
    m[0].metric("BLISS AUROC", f"{bliss['auroc']:.4f}", delta=f"{bliss['auroc'] - internal['auroc']:+.4f} vs λ=0")
    m[1].metric("BLISS AUPR", f"{bliss['aupr']:.4f}")
    m[2].metric("BLISS FPR@95%TPR", f"{bliss['fpr95']:.3f}", delta=f"{bliss['fpr95'] - internal['fpr95']:+.3f}",
                delta_color="inverse")
    m[3].metric("False positives", f"{p['n_fp']:,}")
    m[4].metric("Missed anomalies", f"{p['n_fn']:,}")

    left, right = st.columns([1, 1], gap="large")
    with left:
        st.dataframe(pd.DataFrame(p["rows"]), hide_index=True,
                     column_config={k: st.column_config.NumberColumn(format="%.4f") for k in ("AUROC", "AUPR", "FPR@95%TPR")})
        st.plotly_chart(p["hist_fig"], key="score_hist")
    with right:
        st.plotly_chart(p["roc_fig"], key="roc")

    g1, g2 = st.columns(2, gap="large")
    with g1:
        _gallery("False positives", p["fp"], p["n_fp"],
                 "Normal images flagged as anomalies, most confident first. Often far from all text (low avg dict sim).")
    with g2:
        _gallery("False negatives (missed anomalies)", p["fn"], p["n_fn"],
                 "Anomalies that scored as normal, most confident first. Often text-like (high avg dict sim).")

    heat = p["heat_fig"]
    st.plotly_chart(heat, key="heat")
    st.caption("AUROC for a grid of λ and K (white box: the sliders' nearest cell). Row λ = 0 is the uncorrected score.")

    b = cur.bundle
    d1, d2, d3 = st.columns(3)

    def scores_csv() -> str:
        ids = b.image_names(live.test_idx)
        df = pd.DataFrame({"id": ids, "class": [b.class_names[int(c)] for c in b.image_label[live.test_idx]],
                           "anomaly": live.is_anomaly, "bliss": view.scores,
                           **{k: v for k, v in live.baseline_scores.items()},
                           "avg_dict_similarity": live.avg_dict_sim, "flagged": view.scores >= view.threshold})
        return safe_csv(df)

    with d1:
        st.download_button("⬇ Scores (CSV)", scores_csv, file_name=f"bliss_scores_lam{lam:g}_K{topk}.csv",
                           mime="text/csv", on_click="ignore", key="dl_scores")
    with d2:
        download_figure(p["roc_fig"], "roc_curves", key="dl_roc")
    with d3:
        download_figure(heat, "auroc_heatmap", key="dl_heat")
    state.sync_query_params()


def body(cur: Current) -> None:
    normal = state.normal_classes(cur.key, cur.bundle.class_names)
    with st.spinner("Fitting class statistics and the baselines (once per choice of normal classes)…"):
        cached.live_scoring(cur.key, tuple(normal), cur.bundle)
    st.markdown(f"**Normal:** {', '.join(normal_label(cur.bundle, c) for c in normal)} · "
                f"**anomalies:** every other class in the test set")
    slider_area(cur, normal)


run_page("BLISS scoring", CAPTION, body)
