"""Dictionary similarity: how text-like each image is, and where the errors fall."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bliss_core.app import cached, state
from bliss_core.app.frame import download_figure, page_setup, run_page
from bliss_core.app.tables import safe_csv
from bliss_core.app.sources import Current
from bliss_core.app.views import error_rate_figures, similarity_figures

page_setup()

CAPTION = (
    "What you are looking at: the normal-label texts are far more similar to the dictionary words than any image "
    "is (left). Images differ in how close they sit to text in general — their *average dictionary similarity*. "
    "Plain label similarity misses text-like anomalies (false negatives on the right of the error plot) and "
    "flags normal images that are far from all text (false positives on the left); BLISS flattens both."
)


def body(cur: Current) -> None:
    b = cur.bundle
    normal = state.normal_classes(cur.key, b.class_names)
    with st.spinner("Preparing scores for the chosen normal classes…"):
        live = cached.live_scoring(cur.key, tuple(normal), b)
    ss = st.session_state
    rng = np.random.default_rng(0)
    test = live.test_idx
    sample = test if test.size <= 600 else np.sort(rng.choice(test, 600, replace=False))
    fig_h, fig_a = similarity_figures(b, normal, live, sample)

    c1, c2 = st.columns(2, gap="large")
    with c1:
        st.plotly_chart(fig_h, key="sim_hist")
        st.caption(f"{len(normal)} normal label(s) × {len(b.dict_names)} dictionary entries, against "
                   f"{len(sample)} test images × {len(b.dict_names)} entries.")
        download_figure(fig_h, "dictionary_similarity_histograms", key="dl_hist")
    with c2:
        st.plotly_chart(fig_a, key="avg_hist")
        st.caption("Each test image's mean similarity to all dictionary entries, normal vs anomalous images.")

    st.subheader("Where do the errors fall?")
    lam, topk, tpr = float(ss["lam"]), int(ss["topk"]), float(ss["tpr"])
    topk = min(topk, live.max_topk)
    n_bins = st.slider("Bins (quantiles of average dictionary similarity)", 4, 20, 8, key="err_bins")
    c3, c4 = st.columns(2, gap="large")
    named = [("Without correction (internal score, λ = 0)", live.baseline_scores["internal"]),
             (f"BLISS (λ = {lam:g}, K = {topk})", live.view(lam, topk, tpr).scores)]
    for col, (name, _), fig_e in zip((c3, c4), named, error_rate_figures(live, named, tpr, n_bins)):
        with col:
            st.plotly_chart(fig_e, key=f"err_{name[:8]}")
    st.caption(f"Threshold set so that {tpr:.0%} of anomalies are caught (change λ, K on the BLISS scoring page). "
               "Without correction, missed anomalies pile up on the right (text-like images look like the normal "
               "label) and false alarms on the left.")

    df = pd.DataFrame({
        "id": b.image_names(test),
        "class": [b.class_names[int(b.image_label[g])] for g in test],
        "anomaly": live.is_anomaly,
        "avg_dict_similarity": live.avg_dict_sim,
    })
    st.download_button("⬇ Per-image average dictionary similarity (CSV)", safe_csv(df),
                       file_name="avg_dict_similarity.csv", mime="text/csv", on_click="ignore")


run_page("Dictionary similarity", CAPTION, body)
state.sync_query_params()
