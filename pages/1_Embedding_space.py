"""Embedding space: joint 2-D projection of images, normal-label text and dictionary text."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from bliss_core.app import cached, presenter, state
from bliss_core.app.frame import (
    CLUSTERING_METRICS,
    download_figure,
    md_escape,
    page_setup,
    run_page,
    show_clustering_stats,
)
from bliss_core.app.sources import CACHE_TTL, Current
from bliss_core.app.tables import show_table
from bliss_core.app.thumbnails import has_pictures, hover_thumbnails, thumb_for, thumbs_for_ids
from bliss_core.app.tour import tour_banner
from bliss_core.app.views import describe_ids, joint_points, projection_figure, selected_ids, warm_up
from bliss_core.core.findings import clustering_finding

page_setup()


@st.cache_resource(show_spinner=False)
def _umap_warm_up() -> bool:
    """Once per server process: compile UMAP's numba code in the background while the user
    looks at the (instant) PCA view, so choosing UMAP does not wait for the compiler."""
    warm_up(("umap",), background=True)
    return True


_umap_warm_up()


@st.cache_data(max_entries=8, ttl=CACHE_TTL, show_spinner=False)
def _hover_thumbs(key: str, rows: tuple[int, ...], _image_ids: list[str]) -> dict[str, str]:
    """Hover thumbnails of the plotted image rows of bundle ``key`` (seconds for thousands of
    images the first time, so cached)."""
    return thumbs_for_ids(_image_ids, rows, thumb_for)


CAPTION = (
    "What you are looking at: every dot is an embedding squeezed into two dimensions, images and texts together. "
    "Drag a box or lasso to list the points inside."
)
KEY = {
    "modality": "Blue circles are images, red stars are the normal-label texts, pink stars the other class names "
    "and amber diamonds the dictionary words.",
    "class": "Circles are images, one colour per class (reference and test images alike); red stars are the "
    "normal-label texts, pink stars the other class names and amber diamonds the dictionary words.",
}


def body(cur: Current) -> None:
    b = cur.bundle
    normal = state.normal_classes(cur.key, b.class_names)
    ss = st.session_state
    with st.sidebar:
        st.subheader("Projection")
        st.selectbox(
            "Method",
            ["pca", "tsne", "umap"],
            key="proj_method",
            format_func={"pca": "PCA (instant)", "tsne": "t-SNE", "umap": "UMAP"}.get,
        )
        st.select_slider("Images in the sample", [250, 500, 1000, 1500, 2000, 3000], key="sample_size")
        method = ss["proj_method"]
        params: dict = {}
        if method == "tsne":
            st.slider("Perplexity", 5, 50, key="perplexity")
            params["perplexity"] = float(ss["perplexity"])
        elif method == "umap":
            st.slider("n_neighbors", 5, 100, key="n_neighbors")
            st.slider("min_dist", 0.0, 0.99, step=0.01, key="min_dist")
            params.update(n_neighbors=int(ss["n_neighbors"]), min_dist=float(ss["min_dist"]))
        st.radio("Colour images by", ["modality", "class"], key="color_by", horizontal=True)

    stats = cached.clustering_stats(cur.key, b)
    finding = clustering_finding(stats, untrained=b.untrained, simulation=b.is_simulation)
    tour_banner("embedding", cur, finding)
    jp = joint_points(b, normal, sample_size=int(ss["sample_size"]), dict_size=400, seed=0)
    label = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}[method]
    with st.spinner(f"Computing the {label} projection of {len(jp.ids):,} points (cached afterwards)…"):
        coords = cached.projection(
            cur.key,
            tuple(normal),
            method,
            int(ss["sample_size"]),
            json.dumps(params, sort_keys=True),
            jp.points,
        )

    left, right = presenter.side_by_side([3, 1])  # presenter mode: the statistics below the chart, in a row
    with left:
        fig = projection_figure(
            coords, jp, ss["color_by"], f"{label} of images, normal labels and dictionary text"
        )
        event = st.plotly_chart(fig, key="proj_chart", on_select="rerun", selection_mode=("box", "lasso"))
        rows = tuple(int(g) for g in jp.ids[jp.modality == "image"])
        n_images = len(b.image_label)
        sampled = (
            f" A random sample of {len(rows):,} of the {n_images:,} images is drawn."
            if len(rows) < n_images
            else ""
        )
        st.caption(KEY[ss["color_by"]] + sampled)
        # Only sources with pictures (a real model's data) have thumbnails; one look-up tells.
        with_thumbs = bool(rows) and has_pictures(b.image_id)
        if with_thumbs:
            st.caption("Hover over an image point to see the picture.")
        download_figure(fig, "embedding_projection", key="dl_proj")
    with right:
        st.markdown("#### Text clustering statistics")
        show_clustering_stats(
            stats,
            st.columns(len(CLUSTERING_METRICS))
            if st.session_state.get("presenter")
            else [st.container() for _ in CLUSTERING_METRICS],
        )
        st.caption(finding)

    show_selection(b, selected_ids(event))
    if with_thumbs:  # last, so building the thumbnails the first time delays nothing above
        hover_thumbnails("proj_chart", _hover_thumbs(cur.key, rows, b.image_id))


def show_selection(b, ids: list[int]) -> None:
    """Counts, thumbnails and a table of the box/lasso-selected points."""
    st.markdown("#### Selection")
    if not ids:
        st.caption(
            "Nothing selected yet: choose *Box select* or *Lasso select* in the chart's toolbar and drag."
        )
        return
    rows = describe_ids(b, ids)
    counts = pd.Series([r["kind"] for r in rows]).value_counts()
    plural = {"image": "images", "class-name text": "class-name texts", "dictionary text": "dictionary texts"}
    st.write(
        ", ".join(f"{v:,} {k if v == 1 else plural.get(k, k)}" for k, v in counts.items()) + " selected."
    )
    thumbs = [(r, thumb_for(r["name"])) for r in rows if r["kind"] == "image"]
    thumbs = [(r, t) for r, t in thumbs if t is not None][:24]
    if thumbs:
        cols = st.columns(8)
        for i, (r, t) in enumerate(thumbs):
            cols[i % 8].image(t, caption=md_escape(r["class"], 30), width=96)
    show_table(pd.DataFrame(rows), height=min(400, 38 + 35 * len(rows)))


run_page("Embedding space", CAPTION, body)
state.sync_query_params(proj=st.session_state.get("proj_method", "pca"))
