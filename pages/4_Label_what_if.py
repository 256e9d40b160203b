"""Label what-if: change the normal labels and see each image's scores and verdict change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bliss_core.app import models, presenter, state
from bliss_core.app.frame import md_escape, page_setup, run_page
from bliss_core.app.sources import CACHE_TTL, Current
from bliss_core.app.tables import safe_csv, show_table
from bliss_core.app.thumbnails import thumb_for, thumbnail
from bliss_core.app.uploads import IMAGE_TYPES, check_uploads, decode_uploads, upload_limits_text
from bliss_core.app.views import whatif_figure
from bliss_core.core.text import DEFAULT_PROMPT, clean_labels, strip_control
from bliss_core.core.whatif import LabelSetScorer, label_text, why_verdicts_differ

page_setup()

CAPTION = (
    "What you are looking at: a handful of images scored under two different sets of normal labels, side by side. "
    "For each image you see the internal score (distance from the normal label, z-scored), the external score "
    "(how much more text-like it is than normal images) and the BLISS total, with the verdict at the threshold "
    "that catches 95% of the dataset's anomalies. Change the labels and watch the verdicts move."
)


@st.cache_resource(max_entries=6, ttl=CACHE_TTL, show_spinner=False)
def _label_set(key: str, classes: tuple[int, ...], texts_key: str, _bundle, _text_emb) -> LabelSetScorer:
    return LabelSetScorer(_bundle, classes, text_emb=_text_emb)


def _pick_images(cur: Current) -> tuple[np.ndarray, list[str], list[bytes | None]]:
    """Embeddings, names and thumbnails of the images to score (dataset sample or uploads)."""
    b = cur.bundle
    src = st.radio(
        "Images",
        ["dataset", "upload"],
        horizontal=True,
        key="wi_src",
        format_func={"dataset": "Take some test images from the dataset", "upload": "Upload images"}.get,
    )
    if src == "dataset":
        test = b.test_idx
        c1, c2 = st.columns([1, 3])
        n = c1.number_input("How many", 1, 24, 6, key="wi_n")
        seed = c2.number_input("Sample (change for other images)", 0, 10_000, 0, key="wi_seed")
        rng = np.random.default_rng(int(seed))
        pick = np.sort(rng.choice(test, size=min(int(n), test.size), replace=False))
        names = b.image_names(pick)
        names = [f"{nm} [{b.class_names[int(b.image_label[g])]}]" for nm, g in zip(names, pick)]
        thumbs = [thumb_for(b.image_id[g]) if b.image_id else None for g in pick]
        return b.image_emb[pick], names, thumbs
    st.caption(
        f"Images only (PNG, JPEG, GIF, BMP, WebP, TIFF); {upload_limits_text()}. Broken or oversized "
        "files are refused by name; the rest proceed."
    )
    files = st.file_uploader("Images to score", type=IMAGE_TYPES, accept_multiple_files=True, key="wi_files")
    pairs, msgs = check_uploads(files)
    good, bad = decode_uploads(pairs) if pairs else ([], [])
    for m in msgs + bad:
        st.error(md_escape(m, 400))  # upload names are data: text, not Markdown
    if not good:
        st.info("Upload one or more images to score them.")
        return np.zeros((0, b.dim), np.float32), [], []
    thumbs = [thumbnail(im) for _, im in good]
    names = [name for name, _ in good]
    emb, why = models.embed_uploaded(good)
    if emb is None:
        cols = st.columns(min(len(good), 8))
        for i, t in enumerate(thumbs[:8]):
            cols[i].image(t, caption=md_escape(names[i], 30), width=96)
        st.warning(md_escape(why, 400))
        return np.zeros((0, b.dim), np.float32), [], []
    return emb, names, thumbs


def _label_set_editor(
    cur: Current, side: str, default: list[int], encoder
) -> tuple[list[int], dict, str, dict] | None:
    """Classes, new label embeddings, their cache key, and what the scores rest on (the words
    and the prompt), for one side."""
    b = cur.bundle
    st.markdown(f"#### Label set {side}")
    names = st.multiselect(
        f"Normal classes ({side})",
        b.class_names,
        default=[b.class_names[c] for c in default],
        key=f"wi_classes_{side}",
    )
    idx = {n: i for i, n in enumerate(b.class_names)}
    classes = [idx[n] for n in names]
    if not classes:
        st.warning("Choose at least one normal class.")
        return None
    text_emb: dict[int, np.ndarray] = {}
    texts_key = ""
    words = [label_text(b, c) for c in classes]  # the home page's wording where there is one
    prompt = str(b.meta.get("prompt", DEFAULT_PROMPT))
    if encoder is not None:
        prompt = strip_control(
            st.text_input(f"Prompt template ({side})", value=prompt, key=f"wi_prompt_{side}", max_chars=200)
        )
        if "{}" not in prompt:
            st.warning(f"The prompt template needs a {{}} where the label goes; using '{DEFAULT_PROMPT}'.")
            prompt = DEFAULT_PROMPT
        raw = st.text_area(
            f"Label text for each normal class ({side}), one per line, in the order above",
            value="\n".join(words),
            key=f"wi_text_{side}",
            height=120,
            help="Starts from the words the home page's labels use (their rewording, if any).",
        )
        labels, msgs = clean_labels(raw.splitlines())
        for m in msgs:
            st.warning(md_escape(m))
        if len(labels) != len(classes):
            st.warning(
                f"{len(labels)} usable label(s) for {len(classes)} class(es); the class names are used where "
                "a label is missing."
            )
        labels = (labels + [b.class_names[c] for c in classes[len(labels) :]])[: len(classes)]
        embs = encoder(labels, prompt)
        text_emb = {c: e for c, e in zip(classes, embs)}
        texts_key = prompt + "\x1f" + "\x1f".join(labels)
        words = labels
    else:
        st.caption(
            "New label words need a text encoder (a real or untrained model); with this source you compare "
            "subsets of the existing classes."
        )
    if len(classes) == len(b.class_names):
        st.warning(
            "Every class is normal here: no test image is an anomaly, so the threshold falls back to the "
            "95th percentile of test scores."
        )
    return classes, text_emb, texts_key, {"labels": " | ".join(words), "prompt": prompt}


def body(cur: Current) -> None:
    b = cur.bundle
    normal = state.normal_classes(cur.key, b.class_names)
    encoder = models.text_encoder()
    emb, names, thumbs = _pick_images(cur)
    ss = st.session_state
    kmax = min(state.MAX_TOPK, len(b.dict_names))
    if ss.get("topk", 10) > kmax:
        ss["topk"] = kmax
        st.caption(f"The dictionary has only {len(b.dict_names)} entries, so K is at most {kmax}.")
    c1, c2 = st.columns(2)
    c1.slider("λ", 0.0, state.LAMBDA_MAX, step=0.05, key="lam")
    c2.slider("K", 1, kmax, step=1, key="topk")
    lam, topk = float(ss["lam"]), int(min(ss["topk"], len(b.dict_names)))
    other = [c for c in range(len(b.class_names)) if c not in normal]
    default_b = normal + other[:1] if other else normal

    cols = st.columns(2, gap="large")
    results = {}
    for col, side, default in zip(cols, ("A", "B"), (normal, default_b)):
        with col:
            spec = _label_set_editor(cur, side, default, encoder)
            if spec is None:
                continue
            classes, text_emb, texts_key, basis = spec
            with st.spinner(f"Fitting label set {side}…"):
                scorer = _label_set(cur.key, tuple(classes), texts_key, b, text_emb)
            if len(emb) == 0:
                continue
            r = scorer.score(emb, lam, topk)
            results[side] = (r, basis)
            if r.test_metrics:
                st.caption(
                    f"On the dataset's test set this label set reaches AUROC {r.test_metrics['auroc']:.4f}; "
                    f"threshold {r.threshold:.3f}."
                )

    if len(emb) and any(t is not None for t in thumbs):
        st.markdown("#### The images")
        tcols = st.columns(min(len(names), 8))
        for i, t in enumerate(thumbs[:24]):
            with tcols[i % len(tcols)]:
                if t is not None:
                    st.image(t, width=96)
                st.caption(f"#{i + 1}")
    why = why_verdicts_differ(results["A"][0], results["B"][0]) if len(results) == 2 else []
    # Each label set's scores full width, one below the other: side by side the tables were cut.
    for side, (r, _) in results.items():
        st.markdown(f"#### Scores under label set {side}")
        df = pd.DataFrame(
            {
                "image": names,
                "verdict": np.where(r.anomalous, "ANOMALY", "normal"),
                "BLISS": r.score,
                "internal": r.internal,
                "external": r.external,
                "nearest normal class": [b.class_names[int(c)] for c in r.nearest_class],
                **({"why the verdict differs from the other set": why} if any(why) else {}),
            }
        )
        left, right = presenter.side_by_side([3, 2], gap="medium")
        with left:
            show_table(df, digits=2)
        right.plotly_chart(
            whatif_figure(len(names), r.internal, r.external, r.score, r.threshold, None),
            key=f"wi_fig_{side}",
        )
    if len(results) == 2:
        (ra, basis_a), (rb, basis_b) = results["A"], results["B"]
        changed = sum(1 for w in why if w)
        st.info(f"{changed} of {len(names)} verdict(s) differ between label set A and label set B.")
        if changed:
            st.caption(
                "Each label set sets its own threshold on the dataset's test images (catching 95% of its "
                "anomalies), and scores under different labels are z-scored against different classes. So a "
                "verdict can flip because the score moved past the threshold, or only because the threshold "
                "moved while the score hardly changed: the tables' last column says which."
            )
        out = pd.DataFrame(
            {
                "image": names,
                "A_internal": ra.internal,
                "A_external": ra.external,
                "A_bliss": ra.score,
                "A_threshold": ra.threshold,
                "A_anomaly": ra.anomalous,
                "A_labels": basis_a["labels"],
                "A_prompt": basis_a["prompt"],
                "B_internal": rb.internal,
                "B_external": rb.external,
                "B_bliss": rb.score,
                "B_threshold": rb.threshold,
                "B_anomaly": rb.anomalous,
                "B_labels": basis_b["labels"],
                "B_prompt": basis_b["prompt"],
                "why_changed": why,
                "lambda": lam,
                "K": topk,
            }
        )
        st.download_button(
            "⬇ What-if scores (CSV)",
            safe_csv(out),
            file_name="whatif_scores.csv",
            mime="text/csv",
            on_click="ignore",
        )


run_page("Label what-if", CAPTION, body)
state.sync_query_params()
