"""Dictionary similarity: how text-like each image is, and where the errors fall."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bliss_core import app_state as S
from bliss_core import figures as F
from bliss_core.diagnostics import dictionary_similarities, error_rates_by_dict_similarity, threshold_at_tpr

S.page_setup()

CAPTION = (
    "What you are looking at: the normal-label texts are far more similar to the dictionary words than any image "
    "is (left). Images differ in how close they sit to text in general — their *average dictionary similarity*. "
    "Plain label similarity misses text-like anomalies (false negatives on the right of the error plot) and "
    "flags normal images that are far from all text (false positives on the left); BLISS flattens both."
)


def body(cur: S.Current) -> None:
    b = cur.bundle
    normal = S.normal_classes(cur)
    with st.spinner("Preparing scores for the chosen normal classes…"):
        live = S.live_scoring(cur.key, tuple(normal), b)
    ss = st.session_state
    rng = np.random.default_rng(0)
    test = live.test_idx
    sample = test if test.size <= 600 else np.sort(rng.choice(test, 600, replace=False))
    label_sims = dictionary_similarities(b.class_text_emb[normal], b.dict_text_emb)
    image_sims = dictionary_similarities(b.image_emb[sample], b.dict_text_emb)

    c1, c2 = st.columns(2, gap="large")
    with c1:
        fig_h = F.similarity_histograms(label_sims, image_sims, template=None)
        st.plotly_chart(fig_h, key="sim_hist")
        st.caption(f"{len(normal)} normal label(s) × {len(b.dict_names)} dictionary entries, against "
                   f"{len(sample)} test images × {len(b.dict_names)} entries.")
        S.download_figure(fig_h, "dictionary_similarity_histograms", key="dl_hist")
    with c2:
        fig_a = F.avg_dict_similarity_histogram(live.avg_dict_sim, live.is_anomaly, template=None)
        st.plotly_chart(fig_a, key="avg_hist")
        st.caption("Each test image's mean similarity to all dictionary entries, normal vs anomalous images.")

    st.subheader("Where do the errors fall?")
    lam, topk, tpr = float(ss["lam"]), int(ss["topk"]), float(ss["tpr"])
    topk = min(topk, live.max_topk)
    n_bins = st.slider("Bins (quantiles of average dictionary similarity)", 4, 20, 8, key="err_bins")
    c3, c4 = st.columns(2, gap="large")
    for col, (name, scores) in zip(
        (c3, c4),
        (("Without correction (internal score, λ = 0)", live.baseline_scores["internal"]),
         (f"BLISS (λ = {lam:g}, K = {topk})", live.view(lam, topk, tpr).scores)),
    ):
        thr = threshold_at_tpr(live.is_anomaly, scores, tpr)
        rates = error_rates_by_dict_similarity(live.avg_dict_sim, live.is_anomaly, scores, thr, n_bins=n_bins)
        with col:
            fig_e = F.error_rate_figure(rates, title=name, template=None)
            st.plotly_chart(fig_e, key=f"err_{name[:8]}")
    st.caption(f"Threshold set so that {tpr:.0%} of anomalies are caught (change λ, K on the BLISS scoring page). "
               "Without correction, missed anomalies pile up on the right (text-like images look like the normal "
               "label) and false alarms on the left.")

    df = pd.DataFrame({
        "id": [b.image_id[g] if b.image_id else f"image {g}" for g in test],
        "class": [b.class_names[int(b.image_label[g])] for g in test],
        "anomaly": live.is_anomaly,
        "avg_dict_similarity": live.avg_dict_sim,
    })
    st.download_button("⬇ Per-image average dictionary similarity (CSV)", df.to_csv(index=False),
                       file_name="avg_dict_similarity.csv", mime="text/csv", on_click="ignore")


S.run_page("Dictionary similarity", CAPTION, body)
S.sync_query_params()
