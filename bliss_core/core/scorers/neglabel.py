"""NegLabel (Jiang et al., ICLR 2024) as a scorer: the normal labels against negative labels
mined from the dictionary, in groups.

The mathematics is :mod:`bliss_core.core.neglabel`'s; this module fits it in the scorers'
contract. The candidates are the rows of ``dict_text_emb`` (the caller leaves out what should
not be a candidate, e.g. the normal class names under ``--exclude-normal-names``). The negatives
depend on the normal labels, so they are chosen for the classes being scored: a class subset
(``classes=``) gets the negatives that subset would have been fitted with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..neglabel import DEFAULT_TAU, group_negatives, neglabel_scores, select_negatives
from .base import BaseScorer, FixedPrecomputed
from .checks import check_positive, check_seed

__all__ = ["NegLabelScorer"]


class NegLabelScorer(BaseScorer):
    """NegLabel's score, ``1 - S(x)``: higher = more anomalous.

    ``n_negatives`` (M; None: 15% of the candidates, the official ``neg_topk``), ``n_groups``
    (G; None: 100, the official ``ngroup``, lowered to M when there are fewer negatives; given,
    it must be at most M), ``seed`` (the grouping's permutation) and ``tau`` (the softmax
    temperature). ``fit`` keeps ``negatives_`` (indices into the candidates, ascending order of
    their 0.95-quantile similarity to the normal labels) and ``groups_`` ([G, M // G] indices
    into ``negatives_``). The reference images only say which classes are normal.
    """

    name = "neglabel"

    def __init__(
        self,
        *,
        class_text_emb: Any = None,
        dict_text_emb: Any = None,
        n_negatives: int | None = None,
        n_groups: int | None = None,
        seed: int = 0,
        tau: float = DEFAULT_TAU,
    ):
        self.class_text_emb = class_text_emb
        self.dict_text_emb = dict_text_emb
        self.n_negatives = n_negatives
        self.n_groups = n_groups
        self.seed = seed
        self.tau = tau

    def fit(self, X: Any, y: Any) -> NegLabelScorer:
        """Keep the normal labels and candidates; mine the negatives for the fitted classes."""
        _, classes = self._fit_classes(X, y)
        check_seed(self.seed)
        check_positive(self.tau, "tau")
        self.label_text_ = self._text("class_text_emb", classes)[classes]
        self.candidates_ = self._text("dict_text_emb")
        self.classes_ = classes
        self._mined: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self.negatives_, self.groups_ = self._mine(np.arange(len(classes)))
        return self

    def _mine(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(negatives, groups) for the fitted classes at ``pos`` (remembered)."""
        key = pos.tobytes()
        if key not in self._mined:
            negatives = select_negatives(self.candidates_, self.label_text_[pos], self.n_negatives)
            groups = group_negatives(len(negatives), self.n_groups, int(self.seed))
            self._mined[key] = (negatives, groups)
        return self._mined[key]

    def _scores(self, X: Any, pos: np.ndarray) -> np.ndarray:
        negatives, groups = self._mine(pos)
        return neglabel_scores(X, self.label_text_[pos], self.candidates_[negatives], groups, float(self.tau))

    def precompute(self, X: Any, max_topk: int | None = None) -> FixedPrecomputed:
        self._check_fitted()
        return FixedPrecomputed(X, self._scores, self)

    def negative_names(self, names: Sequence[str]) -> list[str]:
        """The fitted negatives by name, given the candidates' names in row order."""
        self._check_fitted()
        return [names[int(j)] for j in self.negatives_]
