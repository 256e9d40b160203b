"""Server-side cost of the app's slider path, timed in-process.

:func:`slider_update_timing` runs what the BLISS scoring page runs on a lambda/K move
(``LiveScoring.view`` and ``bliss_core.app.scoring_view.live_panel_data``) plus the JSON encoding
Streamlit performs for the live panel, on a CIFAR-10-sized simulated bundle. ``benchmarks/run.py``
and a regression test call it; whole-server figures (real websocket sessions, Chromium) come from
``benchmarks/classroom.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import numpy as np

from bliss_core.app.cached import heatmap_axes
from bliss_core.app.scoring_view import live_panel_data
from bliss_core.app.state import LAMBDA_MAX, MAX_TOPK
from bliss_core.core.bundle import Bundle
from bliss_core.core.live import LiveScoring
from bliss_core.core.simulate import make_simulated_bundle


def slider_update_timing(
    bundle: Bundle | None = None,
    normal: Sequence[int] = (0,),
    n_moves: int = 40,
    serialize: bool = True,
    seed: int = 0,
    repeat_values: bool = False,
) -> dict[str, float]:
    """Milliseconds per lambda/K move: ``p50``, ``p95``, ``max``, ``mean``, and the one-off
    ``setup_s`` (the LiveScoring fit). Uses a 10,000-test-image simulated bundle (1,000 per class,
    D=512, 1,860 dictionary entries) unless ``bundle`` is given. Moves are fresh (lambda, K) pairs
    unless ``repeat_values`` (then they revisit a few, as a class moving in step does)."""
    if bundle is None:
        bundle = make_simulated_bundle(test_per_class=1000, dim=512, n_dict=1860)
    t0 = time.perf_counter()
    live = LiveScoring(bundle, list(normal), max_topk=MAX_TOPK)
    setup = time.perf_counter() - t0
    lams, topks = heatmap_axes(live.max_topk)
    grid = (lams, topks, live.auroc_grid(lams, topks))  # cached per normal set in the app
    rng = np.random.default_rng(seed)
    live_panel_data(live, live.view(0.5, 10), grid)  # warm-up (imports)
    pairs = [
        (round(float(lam), 2), int(k)) for lam, k in zip(np.arange(0, LAMBDA_MAX + 1e-9, 0.05), range(1, 62))
    ]
    rng.shuffle(pairs)
    times = []
    for i in range(n_moves):
        if repeat_values:
            lam, k = pairs[i % 5]
        else:
            lam, k = (
                pairs[i % len(pairs)]
                if i < len(pairs)
                else (float(rng.uniform(0, LAMBDA_MAX)), int(rng.integers(1, live.max_topk + 1)))
            )
        k = min(k, live.max_topk)
        t = time.perf_counter()
        view = live.view(lam, k)
        data = live_panel_data(live, view, grid)
        if serialize and not isinstance(data, bytes):  # live_panel_data sends JSON bytes, encoded once
            json.dumps(data)
        times.append((time.perf_counter() - t) * 1000)
    arr = np.asarray(times)
    return {
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "max": float(arr.max()),
        "mean": float(arr.mean()),
        "n_moves": n_moves,
        "n_test": len(live.test_idx),
        "setup_s": setup,
    }
