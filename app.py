"""bliss-lab: see, measure and correct the text clustering effect of CLIP-like models.

Run with ``streamlit run app.py``. This file is the frame of every page (page config, session
defaults, navigation, the sidebar) and holds the home/setup page. It never imports torch; the
model code is imported only when the user chooses a model.
"""

from __future__ import annotations

import logging
import os

import streamlit as st

from bliss_core.app import cached, frame, presenter, sources, state
from bliss_core.app.frame import md_escape, show_clustering_stats, source_banner, text_line
from bliss_core.app.share import share_panel
from bliss_core.app.tour import start as start_tour
from bliss_core.app.uploads import check_uploads, upload_limit_mb
from bliss_core.core.findings import clustering_finding
from bliss_core.core.text import DEFAULT_PROMPT, clean_labels

frame.configure_logging()
st.set_page_config(
    page_title="bliss-lab", page_icon=":material/insights:", layout="wide", initial_sidebar_state="expanded"
)
state.init_session(sources.env_source(), sources.env_bundles())
frame.freeze_heap_once()
presenter.apply()

SOURCE_LABELS = {
    "simulation": ":material/science: Simulation (teaching mode, always works offline)",
    "bundle": ":material/inventory_2: Embedding bundle (.npz)",
    "model": ":material/neurology: Real model (open_clip) on images",
}


def _source_choice_default() -> str:
    kind = st.session_state["source"].get("kind", "simulation")
    return {"bundle_file": "bundle", "bundle_upload": "bundle", "model": "model"}.get(kind, "simulation")


def _simulation_controls() -> None:
    st.markdown("**Simulation knobs** — the planted effect shows immediately with the defaults.")
    c1, c2 = st.columns(2)
    state.sim_knob(
        c1,
        "text_bias",
        "Text bias (strength of the text clustering effect)",
        "sim_text_bias",
        help="How much the images' 'text-likeness' varies. 0 removes the bias BLISS corrects: then "
        "BLISS has nothing to do.",
    )
    state.sim_knob(
        c2,
        "modality_gap",
        "Modality gap",
        "sim_modality_gap",
        help="How far the text cluster sits from the images. 2 is calibrated to CLIP ViT-B/32 (a gap "
        "of 0.82); 0 puts the texts among the images.",
    )
    state.sim_knob(
        c1, "class_signal", "Class signal", "sim_class_signal", help="How strongly images carry their class."
    )
    state.sim_knob(c2, "noise", "Noise", "sim_noise")
    state.sim_knob(c1, "test_per_class", "Test images per class", "sim_test_per_class")
    state.sim_knob(c2, "seed", "Random seed", "sim_seed")
    st.session_state["source"] = {"kind": "simulation"}


def _bundle_controls() -> None:
    ss = st.session_state
    files = sources.env_bundles()
    options = [f"env:{i}" for i in range(len(files))] + ["upload"]
    labels = {
        f"env:{i}": f"Server bundle {i + 1}: {md_escape(os.path.basename(p), 60)}"
        for i, p in enumerate(files)
    }
    labels["upload"] = "Upload a bundle (.npz)"
    current = ss["source"]
    default = "upload"
    if current.get("kind") == "bundle_file" and current.get("path") in files:
        default = f"env:{files.index(current['path'])}"
    elif current.get("kind") != "bundle_upload" and files:
        default = "env:0"
    which = st.radio(
        "Bundle",
        options,
        format_func=labels.get,
        index=options.index(default),
        horizontal=True,
        label_visibility="collapsed",
        key="bundle_choice",
    )
    if which.startswith("env:"):
        ss["source"] = {"kind": "bundle_file", "path": files[int(which[4:])]}
        return
    st.caption(
        f"A bundle is written by `bliss embed` (any machine, any GPU). Limit {upload_limit_mb():g} MB."
    )
    up = st.file_uploader("Bundle file", type=["npz"], accept_multiple_files=False, key="bundle_upload")
    if up is not None:
        pairs, msgs = check_uploads([up])
        for m in msgs:
            st.error(md_escape(m, 300))
        if pairs:
            name, data = pairs[0]
            sha = sources.content_sha(data)
            if ss["source"].get("sha") != sha:
                try:
                    ss["uploaded_bundle"] = sources.load_bundle_upload(name, data)
                    ss["source"] = {"kind": "bundle_upload", "sha": sha, "name": name}
                except frame.AppError as exc:
                    st.error(md_escape(str(exc), 300))
    elif ss.get("uploaded_bundle") is not None:
        ss["source"] = {
            "kind": "bundle_upload",
            **{k: v for k, v in ss["source"].items() if k in ("sha", "name")},
        }
    if ss["source"].get("kind") != "bundle_upload" and ss.get("uploaded_bundle") is None:
        st.info("Upload a bundle to use it; until then the pages show the simulation.")
        ss["source"] = {"kind": "simulation"}


def _typed_to_selection(class_names: tuple[str, ...]) -> None:
    """on_change of the typed labels: select the classes they name; say which names no class has."""
    ss = st.session_state
    labels, msgs = clean_labels(ss.get("normal_typed", ""))
    index = {n.casefold(): n for n in class_names}
    found = [index[w.casefold()] for w in labels if w.casefold() in index]
    missing = [w for w in labels if w.casefold() not in index]
    if missing:
        shown = ", ".join(f"'{w[:40]}'" for w in missing[:5]) + (" …" if len(missing) > 5 else "")
        msgs.append(
            f"No class is called {shown}. The classes are: {', '.join(class_names[:20])}"
            + (" …" if len(class_names) > 20 else "")
            + "."
        )
    if found:
        ss["normal_sel"] = found
    ss["normal_typed_msgs"] = msgs


def home() -> None:
    st.title("bliss-lab")
    st.caption(
        "CLIP-like models put all text in one tight cluster, far from the images: the *text clustering effect*. "
        "An image's similarity to any text — its normal label included — is then shifted by how 'text-like' the "
        "image is in general. **BLISS** corrects that shift: it adds λ × (how much more similar the image is to its "
        "K nearest dictionary words than normal images are) to the usual z-scored label similarity. "
        "Choose a data source and normal classes here, then explore the pages in the sidebar."
    )
    ss = st.session_state
    try:
        if ss.get("link_note"):
            st.info(ss.pop("link_note"), icon=":material/link:")
        if st.button(
            "Start the guided tour",
            icon=":material/school:",
            type="primary",
            key="tour_start",
            width="content",
            help="The paper's three experiments in order: the joint projection, the similarity "
            "histograms, then the λ sweep and its mistakes. One click per step.",
        ):
            start_tour()
        st.subheader("1 · Data source")
        choices = list(SOURCE_LABELS)
        choice = st.radio(
            "Data source",
            choices,
            format_func=SOURCE_LABELS.get,
            index=choices.index(_source_choice_default()),
            horizontal=True,
            label_visibility="collapsed",
            key="source_choice",
        )
        with st.container(border=True):
            if choice == "simulation":
                _simulation_controls()
            elif choice == "bundle":
                _bundle_controls()
            else:
                from bliss_core.app.model_form import model_controls

                model_controls()

        cur = sources.current()
        source_banner(cur)
        b = cur.bundle

        st.subheader("2 · Normal classes")
        normal = state.normal_classes(cur.key, b.class_names)
        c1, c2 = st.columns([3, 2])
        c2.text_input(
            "…or type them",
            key="normal_typed",
            placeholder="e.g. " + ", ".join(b.class_names[:2])[:60],
            on_change=_typed_to_selection,
            args=(tuple(b.class_names),),
            help="Class names separated by commas; case does not matter.",
        )
        sel = c1.multiselect(
            "Normal classes (everything else in the test set is an anomaly)",
            b.class_names,
            key="normal_sel",
            help="Pick from the dataset's classes, or type their names beside.",
        )
        for m in ss.pop("normal_typed_msgs", []):
            st.warning(md_escape(m, 400))
        normal = state.set_normal(cur.key, b.class_names, sel)
        if not normal:
            st.warning("Choose at least one normal class.")
        elif len(normal) == len(b.class_names):
            st.warning(
                "Every class is normal, so the test set has no anomalies and AUROC is undefined. "
                "Leave at least one class out."
            )

        if normal and cur.kind == "model":
            from bliss_core.app.model_form import label_wording_controls

            label_wording_controls(cur, normal)
        elif normal:
            st.caption(
                "Free-text label wording needs a text encoder: choose *Real model* as the data source "
                "(the simulation and bundles hold fixed label embeddings)."
            )

        st.subheader("3 · Prompt and dictionary")
        meta = b.meta
        c1, c2 = st.columns(2)
        c1.text_input(
            "Prompt template",
            value=str(meta.get("prompt", DEFAULT_PROMPT)),
            disabled=True,
            help="Fixed by the embeddings; with a real model set it before embedding, or try other "
            "wordings on the Label what-if page.",
        )
        c2.text_input(
            "Dictionary",
            value=f"{len(b.dict_names)} entries: {meta.get('dictionary', 'unknown')}",
            disabled=True,
        )

        st.subheader("4 · What is loaded")
        text_line(b.describe())
        stats = cached.clustering_stats(cur.key, b)
        show_clustering_stats(stats, st.columns(4))
        st.caption(
            clustering_finding(stats, untrained=b.untrained, simulation=b.is_simulation)
            + " Next: **Embedding space** to see it, **BLISS scoring** to correct it."
        )
        state.sync_query_params()
    except Exception as exc:
        frame.show_error(exc, "home page")


PAGES = [
    st.Page(home, title="Home & setup", icon=":material/home:", default=True, url_path="home"),
    st.Page("pages/1_Embedding_space.py", title="Embedding space", icon=":material/scatter_plot:"),
    st.Page("pages/2_Dictionary_similarity.py", title="Dictionary similarity", icon=":material/bar_chart:"),
    st.Page("pages/3_BLISS_scoring.py", title="BLISS scoring", icon=":material/tune:"),
    st.Page("pages/4_Label_what_if.py", title="Label what-if", icon=":material/compare_arrows:"),
    st.Page("pages/5_Compare.py", title="Compare", icon=":material/compare:"),
]

with st.sidebar:
    st.image("assets/logo.svg", width=56)
    st.markdown("**bliss-lab** — bias-corrected language-image similarity")
    try:
        _cur = sources.current()
        _normal = state.normal_classes(_cur.key, _cur.bundle.class_names)
        _tag = (
            "SIMULATION"
            if _cur.bundle.is_simulation
            else "UNTRAINED MODEL"
            if _cur.bundle.untrained
            else _cur.kind.replace("_", " ")
        )
        text_line(
            f"{_tag} · {len(_cur.bundle.class_names)} classes · normal: "
            + ", ".join(_cur.bundle.class_names[c] for c in _normal[:6])
            + (" …" if len(_normal) > 6 else ""),
            limit=120,
        )
    except Exception as _exc:
        logging.getLogger("bliss.app").info("sidebar summary: %s", _exc)
    presenter.toggle()
    with st.expander("Share with the class", icon=":material/qr_code_2:"):
        share_panel()

nav = st.navigation(PAGES)
nav.run()
