"""Server-side cost of the app's slider path, timed in-process.

:func:`slider_update_timing` runs exactly what the BLISS scoring page runs on a lambda/K move
(``bliss_core.app.scoring_view.scoring_payload``) plus the JSON encoding ``st.plotly_chart``
performs, on a CIFAR-10-sized simulated bundle. ``benchmarks/run.py`` and the regression test
call it; whole-server figures (real websocket sessions) come from ``benchmarks/classroom.py``.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import pandas as pd

from bliss_core.app.cached import heatmap_axes
from bliss_core.app.scoring_view import scoring_payload
from bliss_core.app.state import LAMBDA_MAX, MAX_TOPK
from bliss_core.core.bundle import Bundle
from bliss_core.core.live import LiveScoring
from bliss_core.core.simulate import make_simulated_bundle


def slider_update_timing(bundle: Bundle | None = None, normal: Sequence[int] = (0,), n_moves: int = 40,
                         serialize: bool = True, seed: int = 0) -> dict[str, float]:
    """Time the BLISS page's server-side work per lambda/K slider move.

    Uses a 10,000-test-image simulated bundle (1,000 per class, D=512, 1,860 dictionary entries)
    unless ``bundle`` is given. Each move runs :func:`scoring_payload` (LiveScoring.view,
    metrics table, galleries, ROC + score-histogram figures) and, with ``serialize``, the
    figures' JSON encoding that ``st.plotly_chart`` performs. Returns milliseconds:
    ``p50``, ``p95``, ``max``, ``mean`` and the one-off ``setup_s`` (LiveScoring fit).
    """
    if bundle is None:
        bundle = make_simulated_bundle(test_per_class=1000, dim=512, n_dict=1860)
    t0 = time.perf_counter()
    live = LiveScoring(bundle, list(normal), max_topk=MAX_TOPK)
    setup = time.perf_counter() - t0
    lams, topks = heatmap_axes(live.max_topk)
    grid = (lams, topks, live.auroc_grid(lams, topks))  # cached per normal set in the app
    rng = np.random.default_rng(seed)
    scoring_payload(live, 0.5, 10, grid=grid)  # warm-up (imports)
    times = []
    for i in range(n_moves):
        if i % 2:
            lam, k = 0.5, int(rng.integers(1, live.max_topk + 1))
        else:
            lam, k = float(rng.choice(np.arange(0, LAMBDA_MAX + 1e-9, 0.05))), 10
        t = time.perf_counter()
        p = scoring_payload(live, lam, k, grid=grid)
        if serialize:
            import plotly.io as pio
            import plotly.tools

            for name in ("roc_fig", "hist_fig", "heat_fig"):  # what st.plotly_chart does
                pio.to_json(plotly.tools.return_figure_from_figure_or_data(p[name], True), validate=False)
            for rows in (p["rows"], p["fp"], p["fn"]):
                pd.DataFrame(rows).to_json()
        times.append((time.perf_counter() - t) * 1000)
    arr = np.asarray(times)
    return {"p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95)),
            "max": float(arr.max()), "mean": float(arr.mean()), "n_moves": n_moves,
            "n_test": int(len(live.test_idx)), "setup_s": setup}
