"""Label what-if: score a few images under an edited set of normal labels (non-UI).

A *label set* is a choice of normal classes of a bundle, optionally with new text for each
class (re-encoded by a text encoder when a real or untrained model is loaded). The class's
normal reference images stay the bundle's; only the words change. Scoring uses
:class:`bliss_core.core.scorers.BlissScorer` unchanged; the verdict threshold is set on the bundle's
own test set so that it catches ``tpr`` of its anomalies under the same label set.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import MetricError, ScoringError, VectorError
from .diagnostics import threshold_at_tpr
from .live import PreparedNormalSet
from .metrics import detection_metrics
from .vectors import unit_rows

__all__ = ["LabelSetScorer", "WhatIfResult", "label_text", "reworded_bundle", "why_verdicts_differ"]


def _replace_class_text(class_text_emb: np.ndarray, text_emb: Mapping[int, np.ndarray]) -> np.ndarray:
    """A copy of ``class_text_emb`` with the rows in ``text_emb`` replaced (unit length)."""
    class_text = np.array(class_text_emb, dtype=np.float32, copy=True)
    for c, emb in (text_emb or {}).items():
        v = np.asarray(emb, dtype=np.float32).reshape(-1)
        if v.shape[0] != class_text.shape[1]:
            raise ScoringError("a label embedding has the wrong dimension for this dataset's model.")
        if not 0 <= int(c) < class_text.shape[0]:
            raise ScoringError(f"class {c} does not exist in this dataset.")
        try:
            class_text[int(c)] = unit_rows(v)[0]
        except VectorError:
            raise ScoringError("a label embedding has zero length or non-finite values.") from None
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


class LabelSetScorer(PreparedNormalSet):
    """BLISS fitted for one label set of a bundle; scores arbitrary image embeddings.

    Every class may be normal here (the verdict then falls back to a percentile threshold).
    """

    def __init__(
        self,
        bundle,
        classes: Sequence[int],
        text_emb: Mapping[int, np.ndarray] | None = None,
        max_topk: int = 50,
    ):
        super().__init__(
            bundle,
            classes,
            class_text_emb=_replace_class_text(bundle.class_text_emb, text_emb or {}),
            max_topk=max_topk,
            allow_all_normal=True,
        )

    def score(self, emb: np.ndarray, lam: float, topk: int, tpr: float = 0.95) -> WhatIfResult:
        emb = np.atleast_2d(np.asarray(emb, dtype=np.float32))
        topk = min(int(topk), self.max_topk)
        test_scores = self.pre.scores(lam, topk)
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
            internal=comp["internal"],
            external=comp["external"],
            score=comp["score"],
            nearest_class=comp["nearest_class"],
            anomalous=comp["score"] >= threshold,
            threshold=float(threshold),
            test_metrics=metrics,
        )


def why_verdicts_differ(a: WhatIfResult, b: WhatIfResult) -> list[str]:
    """Per image, why its verdict differs between label sets ``a`` and ``b`` ('' when it does not).

    Each label set has its own threshold (set on the bundle's test set), so a verdict can flip
    because the image's score moved past a threshold, because the threshold itself moved while
    the score hardly did, or both.
    """
    out = []
    for sa, sb, va, vb in zip(a.score, b.score, a.anomalous, b.anomalous):
        if va == vb:
            out.append("")
            continue
        score_alone = bool(sb >= a.threshold) != bool(va)  # B's score judged by A's threshold
        threshold_alone = bool(sa >= b.threshold) != bool(va)  # A's score judged by B's threshold
        if score_alone and not threshold_alone:
            out.append("the score moved past the threshold")
        elif threshold_alone and not score_alone:
            out.append("the threshold moved; the score alone would not flip it")
        else:
            out.append("both the score and the threshold moved")
    return out
