"""Label what-if: score a few images under an edited set of normal labels (non-UI).

A *label set* is a choice of normal classes of a bundle, optionally with new text for each
class (re-encoded by a text encoder when a real or untrained model is loaded). The class's
normal reference images stay the bundle's; only the words change. Scoring uses
:class:`bliss_core.scoring.BlissScorer` unchanged; the verdict threshold is set on the bundle's
own test set so that it catches ``tpr`` of its anomalies under the same label set.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .diagnostics import threshold_at_tpr
from .metrics import MetricError, detection_metrics
from .scoring import BlissScorer, ScoringError, check_topk

MAX_LABEL_CHARS = 200
_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f"}


def strip_control(text: str) -> str:
    """Remove control and bidi-override characters; collapse runs of whitespace."""
    text = "".join(" " if ch in "\t\n\r" else ch for ch in str(text))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" and ch not in _BIDI)
    return re.sub(r"\s+", " ", text).strip()


def clean_labels(raw: Sequence[str] | str, max_chars: int = MAX_LABEL_CHARS) -> tuple[list[str], list[str]]:
    """Clean free-text labels: returns (usable labels, messages about the ones dropped).

    ``raw`` may be a list or one string with one label per line / comma-separated.
    Empty, duplicate (case-insensitive) and over-long labels are dropped with a message;
    never raises.
    """
    if isinstance(raw, str):
        raw = [p for line in raw.splitlines() for p in line.split(",")]
    labels: list[str] = []
    messages: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, start=1):
        original = str(item)
        label = strip_control(original)
        if not label:
            if original.strip():
                messages.append(f"Label {i} held only control characters and was ignored.")
            continue
        if len(label) > max_chars:
            messages.append(f"Label {i} is {len(label)} characters long (the limit is {max_chars}); it was ignored.")
            continue
        key = label.casefold()
        if key in seen:
            messages.append(f"Label {i} ('{label}') repeats an earlier label and was ignored.")
            continue
        seen.add(key)
        labels.append(label)
    return labels, messages


def _replace_class_text(class_text_emb: np.ndarray, text_emb: Mapping[int, np.ndarray]) -> np.ndarray:
    """A copy of ``class_text_emb`` with the rows in ``text_emb`` replaced (unit length)."""
    class_text = np.array(class_text_emb, dtype=np.float32, copy=True)
    for c, emb in (text_emb or {}).items():
        v = np.asarray(emb, dtype=np.float32).reshape(-1)
        if v.shape[0] != class_text.shape[1]:
            raise ScoringError("a label embedding has the wrong dimension for this dataset's model.")
        if not 0 <= int(c) < class_text.shape[0]:
            raise ScoringError(f"class {c} does not exist in this dataset.")
        norm = float(np.linalg.norm(v))
        if not np.isfinite(norm) or norm == 0.0:
            raise ScoringError("a label embedding has zero length or non-finite values.")
        class_text[int(c)] = v / norm
    return class_text


def reworded_bundle(bundle, text_emb: Mapping[int, np.ndarray], wording: Mapping[int, str]):
    """The bundle with new label text for some classes: what the text encoder read for them.

    ``text_emb`` maps class index to the embedding of its new wording, ``wording`` to the words
    themselves (kept in ``meta["label_text"]`` by class name, for display). Images, reference
    sets, class names and the dictionary are shared with ``bundle``, not copied.
    """
    out = copy.copy(bundle)
    out.class_text_emb = _replace_class_text(bundle.class_text_emb, text_emb)
    out.meta = {**bundle.meta, "label_text": {bundle.class_names[int(c)]: str(w) for c, w in wording.items()}}
    return out


def label_text(bundle, c: int) -> str:
    """The words the class's text embedding encodes: a rewording when there is one, else its name."""
    name = bundle.class_names[int(c)]
    return str((bundle.meta.get("label_text") or {}).get(name, name))


@dataclass
class WhatIfResult:
    internal: np.ndarray
    external: np.ndarray
    score: np.ndarray
    nearest_class: np.ndarray  # class index of the minimising normal class
    anomalous: np.ndarray  # verdict: score >= threshold
    threshold: float
    test_metrics: dict[str, float] | None  # AUROC etc. of this label set on the bundle's test set


class LabelSetScorer:
    """BLISS fitted for one label set of a bundle; scores arbitrary image embeddings."""

    def __init__(self, bundle, classes: Sequence[int], text_emb: Mapping[int, np.ndarray] | None = None,
                 max_topk: int = 50):
        classes = sorted({int(c) for c in classes})
        if not classes:
            raise ScoringError("choose at least one normal class.")
        n_classes = len(bundle.class_names)
        bad = [c for c in classes if not 0 <= c < n_classes]
        if bad:
            raise ScoringError(f"class {bad[0]} does not exist in this dataset.")
        class_text = _replace_class_text(bundle.class_text_emb, text_emb or {})
        train = bundle.image_is_train & np.isin(bundle.image_label, classes)
        lacking = [c for c in classes if not np.any(bundle.image_label[train] == c)]
        if lacking:
            raise ScoringError(f"normal class '{bundle.class_names[lacking[0]]}' has no reference images.")
        self.classes = classes
        self.max_topk = check_topk(min(max_topk, len(bundle.dict_names)), len(bundle.dict_names))
        self.scorer = BlissScorer(lam=0.0, topk=1).fit(
            bundle.image_emb[train], bundle.image_label[train], class_text, bundle.dict_text_emb)
        test = np.flatnonzero(~bundle.image_is_train)
        self.is_anomaly = ~np.isin(bundle.image_label[test], classes)
        self.test_pre = self.scorer.precompute(bundle.image_emb[test], max_topk=self.max_topk)

    def score(self, emb: np.ndarray, lam: float, topk: int, tpr: float = 0.95) -> WhatIfResult:
        emb = np.atleast_2d(np.asarray(emb, dtype=np.float32))
        topk = min(int(topk), self.max_topk)
        test_scores = self.test_pre.scores(lam, topk)
        metrics = None
        if self.is_anomaly.any() and not self.is_anomaly.all():
            threshold = threshold_at_tpr(self.is_anomaly, test_scores, tpr)
            try:
                metrics = detection_metrics(self.is_anomaly, test_scores)
            except MetricError:
                metrics = None
        else:
            # No anomalies (or no normal images) in the test set: flag what is above the
            # 95th percentile of the test scores so the verdict is still defined.
            threshold = float(np.quantile(test_scores, tpr))
        pre = self.scorer.precompute(emb, max_topk=topk)
        comp = pre.components(lam, topk)
        return WhatIfResult(
            internal=comp["internal"], external=comp["external"], score=comp["score"],
            nearest_class=comp["nearest_class"], anomalous=comp["score"] >= threshold,
            threshold=float(threshold), test_metrics=metrics,
        )
