"""Dictionary similarity: how text-like each image is, and where the errors fall."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bliss_core.app import cached, presenter, state
from bliss_core.app.frame import download_figure, page_setup, run_page
from bliss_core.app.sources import Current
from bliss_core.app.tables import safe_csv
from bliss_core.app.tour import tour_banner
from bliss_core.app.views import (
    dictionary_similarity_values,
    error_rate_figures,
    error_rates,
    similarity_figures,
)
from bliss_core.core.findings import dictionary_finding, error_curves_finding

page_setup()

CAPTION = (
    "What you are looking at: how similar the normal-label texts and the images are to the dictionary words (left), "
    "each test image's *average dictionary similarity* — how text-like it is in general (right) — and where the "
    "detector's mistakes fall along that axis, without and with BLISS (below)."
)


def body(cur: Current) -> None:
    b = cur.bundle
    normal = state.normal_classes(cur.key, b.class_names)
    ss = st.session_state
    shots, exclude = ss.get("shots"), bool(ss.get("exclude_names", False))
    with st.spinner("Preparing scores for the chosen normal classes…"):
        live = cached.live_scoring(cur.key, tuple(normal), b, shots, exclude)
    rng = np.random.default_rng(0)
    test = live.test_idx
    sample = test if test.size <= 600 else np.sort(rng.choice(test, 600, replace=False))
    label_sims, image_sims = dictionary_similarity_values(b, normal, sample)
    sim_finding = dictionary_finding(
        label_sims, image_sims, untrained=b.untrained, simulation=b.is_simulation
    )

    lam, topk, tpr = float(ss["lam"]), int(ss["topk"]), float(ss["tpr"])
    topk = min(topk, live.max_topk)
    n_bins = int(ss.get("err_bins", 8))
    view = live.view(lam, topk, tpr)
    named = [
        (
            "Without correction (internal score, λ = 0)",
            error_rates(live, live.baseline_scores["internal"], tpr, n_bins),
        ),
        (f"BLISS (λ = {lam:g}, K = {topk})", error_rates(live, view.scores, tpr, n_bins, view.threshold)),
    ]
    err_finding = error_curves_finding(
        named[0][1], named[1][1], untrained=b.untrained, simulation=b.is_simulation
    )
    tour_banner("dictionary", cur, sim_finding + " " + err_finding)

    fig_h, fig_a = similarity_figures(label_sims, image_sims, live)
    c1, c2 = presenter.side_by_side(2)
    with c1:
        st.plotly_chart(fig_h, key="sim_hist")
        st.caption(
            f"{len(normal)} normal label(s) × {len(b.dict_names)} dictionary entries, against "
            f"{len(sample)} test images × {len(b.dict_names)} entries. " + sim_finding
        )
        download_figure(fig_h, "dictionary_similarity_histograms", key="dl_hist")
    with c2:
        st.plotly_chart(fig_a, key="avg_hist")
        st.caption("Each test image's mean similarity to all dictionary entries, normal vs anomalous images.")

    st.subheader("Where do the errors fall?")
    st.slider("Bins (quantiles of average dictionary similarity)", 4, 20, 8, key="err_bins")
    c3, c4 = presenter.side_by_side(2)
    for col, (name, _), fig_e in zip((c3, c4), named, error_rate_figures(named)):
        with col:
            st.plotly_chart(fig_e, key=f"err_{name[:8]}")
    st.caption(
        f"Threshold set so that {tpr:.0%} of anomalies are caught (change λ, K on the BLISS scoring page); "
        "both panels share one scale. " + err_finding
    )

    def per_image_csv() -> str:  # built when the button is pressed, not on every rerun
        return safe_csv(
            pd.DataFrame(
                {
                    "id": b.image_names(test),
                    "class": [b.class_names[int(b.image_label[g])] for g in test],
                    "anomaly": live.is_anomaly,
                    "avg_dict_similarity": live.avg_dict_sim,
                }
            )
        )

    st.download_button(
        "⬇ Per-image average dictionary similarity (CSV)",
        per_image_csv,
        file_name="avg_dict_similarity.csv",
        mime="text/csv",
        on_click="ignore",
    )


run_page("Dictionary similarity", CAPTION, body)
state.sync_query_params()
