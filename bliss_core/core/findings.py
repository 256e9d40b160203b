"""Sentences that state a finding, computed from the numbers they are about.

Every caption that says something about the data ("texts huddle together far from the
images", "BLISS flattens both error curves") is written here from the numbers on screen, and
says the opposite when the numbers do. For embeddings from an untrained model every sentence
says that its numbers mean nothing about CLIP; for the simulation, that it is one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "CLUSTERED_MARGIN",
    "GAP_CLEAR",
    "caveat",
    "clustering_finding",
    "dictionary_finding",
    "error_curves_finding",
    "gain_finding",
    "knn_finding",
    "texts_are_clustered",
]

#: Text-text similarity must exceed image-text similarity by this much to call texts clustered.
CLUSTERED_MARGIN = 0.15
#: A modality gap above this is "far"; CLIP ViT-B/32's is about 0.82 (Liang et al. 2022).
GAP_CLEAR = 0.3


def caveat(untrained: bool = False, simulation: bool = False) -> str:
    """What every finding must add about where the numbers come from ('' for a real model)."""
    if untrained:
        return (
            " These embeddings come from an UNTRAINED model with random weights: the numbers mean nothing "
            "about CLIP or BLISS; they only show that the plumbing works."
        )
    if simulation:
        return " (This is the simulation: a planted effect, not a model's measurement.)"
    return ""


def texts_are_clustered(stats: Mapping[str, float]) -> bool:
    """Whether the texts form their own cluster away from the images."""
    return (stats["text_text"] - stats["image_text"] > CLUSTERED_MARGIN) and stats["modality_gap"] > GAP_CLEAR


def clustering_finding(
    stats: Mapping[str, float], *, untrained: bool = False, simulation: bool = False
) -> str:
    """The text clustering statistics in one sentence that follows their values."""
    tt, it, ii, gap = (stats[k] for k in ("text_text", "image_text", "image_image", "modality_gap"))
    numbers = (
        f"texts are {tt:.2f} similar to each other, images {ii:.2f} to each other, and an image is "
        f"{it:.2f} similar to a text on average; the modality gap is {gap:.2f}"
    )
    if texts_are_clustered(stats):
        text = (
            f"The texts huddle together far from the images: {numbers}. Image ↔ text similarity is far below "
            "text ↔ text, so how close an image drifts to the text cluster shifts its similarity to every label "
            "at once."
        )
    elif gap > GAP_CLEAR:
        text = (
            f"The texts sit apart from the images but are not tighter among themselves than they are to the "
            f"images: {numbers}."
        )
    else:
        text = f"Here the texts are not clustered: {numbers}. Texts and images mix, so there is little bias to correct."
    return text + caveat(untrained, simulation)


def dictionary_finding(
    label_vs_dict: np.ndarray, image_vs_dict: np.ndarray, *, untrained: bool = False, simulation: bool = False
) -> str:
    """Normal-label text against images, in their similarity to the dictionary."""
    lab, img = float(np.median(label_vs_dict)), float(np.median(image_vs_dict))
    if lab - img > 0.05:
        text = (
            f"The normal-label texts are far more similar to the dictionary words (median {lab:.2f}) than the "
            f"images are (median {img:.2f}): a label is close to any text, so an image's similarity to it says "
            "as much about how text-like the image is as about its class."
        )
    elif img - lab > 0.05:
        text = (
            f"Here the images are more similar to the dictionary (median {img:.2f}) than the normal-label texts "
            f"are (median {lab:.2f}): the texts are not clustered together."
        )
    else:
        text = (
            f"The normal-label texts and the images are about equally similar to the dictionary (medians "
            f"{lab:.2f} and {img:.2f}): no sign of a text cluster here."
        )
    return text + caveat(untrained, simulation)


def _trend(rates: Sequence[float | None]) -> tuple[float, float]:
    """(slope sign as a correlation, spread) of a rate curve over its bins (None bins skipped)."""
    y = np.array([np.nan if r is None else r for r in rates], float)
    x = np.arange(y.size, dtype=float)
    ok = np.isfinite(y)
    if ok.sum() < 3 or np.std(y[ok]) == 0:
        return 0.0, float(np.nanmax(y) - np.nanmin(y)) if ok.any() else 0.0
    return float(np.corrcoef(x[ok], y[ok])[0, 1]), float(np.nanmax(y) - np.nanmin(y))


def error_curves_finding(
    internal: Mapping[str, Sequence],
    bliss: Mapping[str, Sequence],
    *,
    untrained: bool = False,
    simulation: bool = False,
) -> str:
    """How the error rates run against average dictionary similarity, without and with BLISS.

    ``internal`` and ``bliss`` are :func:`bliss_core.core.diagnostics.error_rates_by_dict_similarity`
    results. The text bias shows as missed anomalies rising and false alarms falling with
    dictionary similarity; BLISS "flattens" a curve when it narrows its spread across the bins.
    """
    fn_trend, fn_spread = _trend(internal["fn_rate"])
    fp_trend, fp_spread = _trend(internal["fp_rate"])
    _, fn_b = _trend(bliss["fn_rate"])
    _, fp_b = _trend(bliss["fp_rate"])
    parts = []
    if fn_trend > 0.5 and fp_trend < -0.5:
        parts.append(
            "Without correction, missed anomalies pile up on the right (text-like anomalies look like the "
            "normal label) and false alarms on the left (normal images far from all text)."
        )
    elif fn_trend > 0.5:
        parts.append(
            "Without correction, missed anomalies rise with dictionary similarity; false alarms do not "
            "fall with it."
        )
    elif fp_trend < -0.5:
        parts.append(
            "Without correction, false alarms fall with dictionary similarity; missed anomalies do not rise "
            "with it."
        )
    else:
        parts.append(
            "Without correction the errors do not follow dictionary similarity here: no sign of the text bias."
        )
    flatter = [
        name
        for name, before, after in (("missed anomalies", fn_spread, fn_b), ("false alarms", fp_spread, fp_b))
        if after < 0.8 * before
    ]
    steeper = [
        name
        for name, before, after in (("missed anomalies", fn_spread, fn_b), ("false alarms", fp_spread, fp_b))
        if after > 1.25 * before
    ]
    if len(flatter) == 2:
        parts.append("BLISS flattens both error curves.")
    elif flatter:
        parts.append(f"BLISS flattens the {flatter[0]} curve but not the other.")
    else:
        parts.append("BLISS does not flatten the error curves at this λ and K.")
    if steeper:
        parts.append(f"It makes the {' and '.join(steeper)} curve{'s' if len(steeper) > 1 else ''} steeper.")
    return " ".join(parts) + caveat(untrained, simulation)


def gain_finding(
    bliss_auroc: float,
    internal_auroc: float,
    lam: float,
    topk: int,
    *,
    untrained: bool = False,
    simulation: bool = False,
) -> str:
    """BLISS against the uncorrected internal score at the sliders' lambda and K."""
    gain = bliss_auroc - internal_auroc
    if lam == 0:
        text = "At λ = 0 BLISS is the internal score: nothing is corrected."
    elif gain > 0.005:
        text = (
            f"At λ = {lam:g}, K = {topk}, the correction raises AUROC from {internal_auroc:.3f} to "
            f"{bliss_auroc:.3f} (+{gain:.3f})."
        )
    elif gain < -0.005:
        text = (
            f"At λ = {lam:g}, K = {topk}, the correction lowers AUROC from {internal_auroc:.3f} to "
            f"{bliss_auroc:.3f} ({gain:.3f}): there is little text bias to correct here."
        )
    else:
        text = (
            f"At λ = {lam:g}, K = {topk}, the correction leaves AUROC where it was ({internal_auroc:.3f}): "
            "nothing here to correct."
        )
    return text + caveat(untrained, simulation)


def knn_finding(
    knn_auroc: float | None, bliss_auroc: float, *, untrained: bool = False, simulation: bool = False
) -> str:
    """Why the image-only kNN baseline beats BLISS, when it does ('' when it does not)."""
    if knn_auroc is None or not knn_auroc > bliss_auroc + 0.005:
        return ""
    return (
        f"The image-only kNN baseline scores higher here (AUROC {knn_auroc:.3f} against BLISS's "
        f"{bliss_auroc:.3f}). It compares each test image with the normal reference images directly and never "
        "reads a label, so the text bias cannot touch it, but it needs reference images of every normal class. "
        "BLISS and the internal score are label-based scores, and that is the comparison the paper makes: BLISS "
        "corrects the label score's bias; it does not try to beat image-to-image matching."
        + caveat(untrained, simulation)
    )
