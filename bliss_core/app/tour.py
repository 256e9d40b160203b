"""The guided tour: the paper's three experiments in order, one click per step.

1. the joint projection (texts huddle together, far from the images),
2. the similarity histograms (a label is close to any text; where the errors fall),
3. the lambda sweep and its mistakes (BLISS corrects the bias).

Each step says what to look at in words computed from the data on screen, then offers Next.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

STEPS = (
    (
        "embedding",
        "pages/1_Embedding_space.py",
        "See the texts cluster",
        "Every dot is an embedding squeezed into two dimensions. Find the labels and dictionary words (stars and "
        "diamonds) and the images (circles).",
    ),
    (
        "dictionary",
        "pages/2_Dictionary_similarity.py",
        "Measure the bias",
        "Left: how similar the normal labels and the images are to the dictionary. Below: where the uncorrected "
        "score makes its mistakes, against each image's average dictionary similarity.",
    ),
    (
        "scoring",
        "pages/3_BLISS_scoring.py",
        "Correct it with BLISS",
        "Move λ from 0 upwards and watch AUROC, the ROC curve and the galleries of mistakes; the heat map shows "
        "every λ and K at once.",
    ),
)
_INDEX = {name: i for i, (name, *_rest) in enumerate(STEPS)}


def start() -> None:
    """Begin the tour at step 1 and go there."""
    st.session_state["tour"] = 0
    st.switch_page(STEPS[0][1])


def end() -> None:
    """Leave the tour (a button callback: the page then reruns without the box)."""
    st.session_state["tour"] = None


def tour_banner(page: str, cur: Any, finding: str | None = None) -> None:
    """On a tour page, the current step's box: what to look at, what it shows, Back / Next / End."""
    ss = st.session_state
    if ss.get("tour") is None or page not in _INDEX:
        return
    step = ss["tour"] = _INDEX[page]  # each page is its own step, however the user got there
    name, path, title, what = STEPS[step]
    with st.container(border=True, key="tour_box"):
        st.markdown(f"**Guided tour · step {step + 1} of {len(STEPS)}: {title}**")
        st.write(what)
        if finding:
            st.info(finding, icon=":material/lightbulb:")
        c1, c2, c3 = st.columns([1, 1, 3])
        if step > 0 and c1.button("← Back", key="tour_back"):
            ss["tour"] = step - 1
            st.switch_page(STEPS[step - 1][1])
        if step + 1 < len(STEPS):
            if c2.button("Next →", key="tour_next", type="primary"):
                ss["tour"] = step + 1
                st.switch_page(STEPS[step + 1][1])
        else:
            c2.button("Finish", key="tour_finish", type="primary", on_click=end)
        c3.button("End the tour", key="tour_end", on_click=end)
