"""Compare: two or more bundles side by side (models, prompts, dictionaries, simulations)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bliss_core.app import compare_view as cv
from bliss_core.app.frame import display, guarded, page_setup, run_page, text_line
from bliss_core.app.state import sim_knob
from bliss_core.app.tables import show_table
from bliss_core.app.uploads import check_uploads

page_setup()

CAPTION = (
    "What you are looking at: the same questions asked of several embedding spaces — other models, prompts, "
    "dictionaries, or simulations with other knobs. Is the text clustering effect there in each? How much does "
    "BLISS gain over the plain label score? When the bundles hold the same images, which ones change verdict?"
)


def _texts(lines: list[str]) -> None:
    """Messages that hold file or class names: shown as text, never Markdown."""
    if lines:
        st.text("\n".join(display(line, 400) for line in lines))


def sources_panel() -> list[cv.CompareSource]:
    ss = st.session_state
    with st.expander("Sources: BLISS_BUNDLE files, uploaded bundles, simulations", expanded=False):
        files = st.file_uploader(
            "Upload bundles (.npz)", type=["npz"], accept_multiple_files=True, key="cmp_upload"
        )
        if files:
            pairs, msgs = check_uploads(files)
            msgs += cv.take_uploads(pairs)
            if msgs:
                st.warning("Some uploads could not be used:")
                _texts(msgs)
        st.markdown("**Add a simulation** with other knobs (text bias 0 removes the planted effect):")
        c = st.columns(5)
        d = cv.DEFAULT_SIM
        for col, (knob, label) in zip(
            c,
            (
                ("text_bias", "Text bias"),
                ("modality_gap", "Modality gap"),
                ("class_signal", "Class signal"),
                ("noise", "Noise"),
                ("seed", "Seed"),
            ),
        ):
            sim_knob(col, knob, label, f"cmp_sim_{knob}", d[knob])
        b1, b2 = st.columns(2)
        b1.button(
            "Add this simulation",
            key="cmp_add_sim",
            on_click=lambda: cv.add_simulation(
                {
                    k: ss[f"cmp_sim_{k}"]
                    for k in ("text_bias", "modality_gap", "class_signal", "noise", "seed")
                }
            ),
        )
        b2.button("Remove the simulations", key="cmp_clear_sims", on_click=cv.clear_simulations)
    available, msgs = cv.available_sources()
    if msgs:
        st.error("A bundle file named in BLISS_BUNDLE cannot be used:")
        _texts(msgs)
    chosen = cv.selected_sources(available)
    st.multiselect(
        "Bundles to compare (two or more)",
        [s.label for s in available],
        key="cmp_selected",
        max_selections=cv.MAX_SOURCES,
    )
    return chosen


@guarded
def summary_section(chosen: list[cv.CompareSource]) -> None:
    st.subheader("What each bundle is")
    show_table(pd.DataFrame(cv.summary_rows(chosen)))
    st.subheader("Text clustering statistics")
    st.caption(
        "Mean cosine similarity of distinct texts, of distinct images, and of images with texts (texts: the "
        "class labels and the dictionary); the modality gap is the distance between the mean image and the "
        "mean text embedding. A clustering effect: text ↔ text far above image ↔ text."
    )
    rows = cv.clustering_rows(chosen)
    show_table(pd.DataFrame(rows))
    st.plotly_chart(cv.stat_bars(rows), key="cmp_stat_bars")


@guarded
def projection_section(chosen: list[cv.CompareSource], normal_names: list[str]) -> None:
    st.subheader("Joint projections")
    st.selectbox(
        "Projection method",
        ["pca", "tsne", "umap"],
        key="cmp_proj",
        format_func={"pca": "PCA (instant)", "tsne": "t-SNE", "umap": "UMAP"}.get,
    )
    method = st.session_state["cmp_proj"]
    cols = st.columns(2)
    for i, s in enumerate(chosen):
        with cols[i % 2]:
            text_line(s.label)
            with st.spinner("Projecting (cached afterwards)…"):
                fig = cv.projection_for(s, cv.normal_indices(s.bundle, normal_names), method)
            st.plotly_chart(fig, key=f"cmp_proj_{i}")


@guarded
def gain_section(
    chosen: list[cv.CompareSource], normal_names: list[str], exclude: bool, lam: float, topk: int
) -> None:
    st.subheader("BLISS's gain over the internal score")
    st.caption(
        "AUROC on each bundle's test images (anomalies positive) at the session's λ and K; the gain is BLISS "
        "minus the internal score (λ = 0). K stops at a bundle's dictionary size."
    )
    with st.spinner("Fitting class statistics for each bundle (once per choice of normal classes)…"):
        rows = cv.gain_rows(chosen, normal_names, exclude, lam, topk)
    show_table(pd.DataFrame(rows))
    st.plotly_chart(cv.gain_bars(rows), key="cmp_gain_bars")


@guarded
def heatmap_section(
    chosen: list[cv.CompareSource], normal_names: list[str], exclude: bool, lam: float, topk: int
) -> None:
    st.subheader("AUROC over λ and K")
    st.caption(
        "Each bundle's BLISS AUROC on the grid `bliss compare` searches (white box: the session's λ and K)."
    )
    cols = st.columns(2)
    for i, s in enumerate(chosen):
        with cols[i % 2]:
            text_line(s.label)
            st.plotly_chart(
                cv.heatmap_for(s, cv.normal_indices(s.bundle, normal_names), exclude, lam, topk),
                key=f"cmp_heat_{i}",
            )


@guarded
def verdict_section(
    chosen: list[cv.CompareSource], normal_names: list[str], exclude: bool, lam: float, topk: int
) -> None:
    st.subheader("Images that change verdict")
    shared, changed, rows = cv.verdict_table(chosen, normal_names, exclude, lam, topk)
    if not shared:
        st.info(
            "The chosen bundles share no test image ids, so their verdicts cannot be lined up. Bundles of the "
            "same images under another model, prompt or dictionary can."
        )
        return
    st.caption(
        "Each bundle flags an image when its BLISS score reaches the threshold that catches 95% of that "
        "bundle's anomalies. ✓: the verdict is right, ✗: wrong."
    )
    m = st.columns(3)
    m[0].metric("Shared test images", f"{shared:,}")
    m[1].metric("Change verdict", f"{changed:,}")
    m[2].metric("Share that changes", f"{changed / shared:.1%}")
    if rows:
        show_table(pd.DataFrame(rows))
        if changed > len(rows):
            st.caption(f"The first {len(rows):,} are listed.")


def body(_cur) -> None:
    ss = st.session_state
    chosen = sources_panel()
    if len(chosen) < 2:
        st.info("Choose two or more bundles above (open Sources to upload bundles or add simulations).")
        return
    if any(s.bundle.untrained for s in chosen):
        st.warning(
            "**UNTRAINED MODEL** — at least one bundle comes from random weights (marked in the table); "
            "its numbers say nothing about the model or BLISS.",
            icon=":material/warning:",
        )
    if any(s.bundle.is_simulation for s in chosen):
        st.info(
            "**SIMULATION** — at least one bundle holds synthetic embeddings with a planted text clustering "
            "effect, not the output of a model.",
            icon=":material/science:",
        )
    names = cv.common_classes(chosen)
    if not names:
        st.warning(
            "The chosen bundles have no class name in common, so no choice of normal classes fits them all."
        )
        return
    if not ss.get("cmp_normal") or any(n not in names for n in ss["cmp_normal"]):
        ss["cmp_normal"] = [n for n in ss.get("cmp_normal", []) if n in names] or names[:1]
    c1, c2, c3 = st.columns([3, 2, 1])
    c1.multiselect("Normal classes (among the classes every bundle has)", names, key="cmp_normal")
    c2.checkbox(
        "Exclude normal class names from the dictionary",
        key="cmp_exclude",
        help="Per normal class, dictionary entries equal to its name (ignoring case) are left out of the "
        "external score.",
    )
    lam, topk = cv.session_lam_topk()
    c3.caption(f"λ = {lam:g}, K = {topk} (set them on the BLISS scoring page)")
    normal_names = list(ss["cmp_normal"])
    if not normal_names:
        st.warning("Choose at least one normal class.")
        return
    exclude = bool(ss.get("cmp_exclude", False))
    summary_section(chosen)
    projection_section(chosen, normal_names)
    gain_section(chosen, normal_names, exclude, lam, topk)
    heatmap_section(chosen, normal_names, exclude, lam, topk)
    verdict_section(chosen, normal_names, exclude, lam, topk)


run_page("Compare", CAPTION, body, needs_bundle=False)
