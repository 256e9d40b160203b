"""The closed modality gap as a scorer: shift images and normal labels towards each other along
the gap (Liang et al., "Mind the Gap", NeurIPS 2022), then score by max-sim.

The paper shifted embeddings to measure zero-shot accuracy only; turning the shifted max-sim into
an anomaly score is bliss-lab's. The mathematics is :mod:`bliss_core.core.gap`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import ScoringError
from ..gap import check_delta, gap_vector, gapshift_scores
from ..kernels import unit_or_error
from .base import BaseScorer, FixedPrecomputed

__all__ = ["GAP_TEXTS", "GapShiftScorer"]

#: Which texts the gap is measured against: the normal labels (the official Table 1 uses class
#: prompts) or the whole dictionary.
GAP_TEXTS = ("labels", "dictionary")


class GapShiftScorer(BaseScorer):
    """Max-sim after shifting along the gap: ``-max_k cos(x', c'_k)``, higher = more anomalous.

    Δ = mean of the unit normal reference images − mean of the unit texts (``gap_texts``:
    ``"labels"``, the normal labels, or ``"dictionary"``, which needs ``dict_text_emb``);
    u = Δ/‖Δ‖; x' = unit(x − δu/2), c' = unit(c + δu/2) with δ = ``delta`` (any real; None:
    ‖Δ‖, which closes the gap; negative widens it). ``fit`` keeps ``gap_`` (Δ of the fitted
    classes); a class subset (``classes=``) is scored with the Δ of its own references.
    """

    name = "gapshift"

    def __init__(
        self,
        *,
        class_text_emb: Any = None,
        dict_text_emb: Any = None,
        gap_texts: str = "labels",
        delta: float | None = None,
    ):
        self.class_text_emb = class_text_emb
        self.dict_text_emb = dict_text_emb
        self.gap_texts = gap_texts
        self.delta = delta

    def fit(self, X: Any, y: Any) -> GapShiftScorer:
        """Keep the unit reference images by class and the labels; measure Δ."""
        ref, classes = self._fit_classes(X, y)
        if self.gap_texts not in GAP_TEXTS:
            raise ScoringError(f"gap_texts must be one of {', '.join(GAP_TEXTS)}, got {self.gap_texts!r}.")
        if self.delta is not None:
            check_delta(self.delta)
        self.label_text_ = self._text("class_text_emb", classes)[classes]
        self.dict_text_ = self._text("dict_text_emb") if self.gap_texts == "dictionary" else None
        self.ref_ = unit_or_error(ref)
        self.ref_class_ = np.searchsorted(classes, np.asarray(y).astype(np.int64))
        self.classes_ = classes
        self._gaps: dict[bytes, np.ndarray] = {}
        self.gap_ = self._gap(np.arange(len(classes)))
        return self

    def _gap(self, pos: np.ndarray) -> np.ndarray:
        """Δ of the fitted classes at ``pos`` (remembered)."""
        key = pos.tobytes()
        if key not in self._gaps:
            images = self.ref_[np.isin(self.ref_class_, pos)]
            texts = self.label_text_[pos] if self.dict_text_ is None else self.dict_text_
            self._gaps[key] = gap_vector(images, texts)
        return self._gaps[key]

    def _scores(self, X: Any, pos: np.ndarray) -> np.ndarray:
        delta = None if self.delta is None else check_delta(self.delta)
        return gapshift_scores(X, self.label_text_[pos], self._gap(pos), delta)

    def precompute(self, X: Any, max_topk: int | None = None) -> FixedPrecomputed:
        self._check_fitted()
        return FixedPrecomputed(X, self._scores, self)

    def gap_norm(self, classes: Sequence[int] | None = None) -> float:
        """‖Δ‖ of ``classes`` (all fitted ones by default): the δ that closes the gap."""
        self._check_fitted()
        return float(np.linalg.norm(self._gap(self._positions(classes))))
