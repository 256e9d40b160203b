"""Classroom-ready: captions that follow the data, the guided tour, presenter mode, sharing a
view, the what-if page's explanations and exports, and one legend entry per class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from bliss_core import make_simulated_bundle, save_bundle
from bliss_core.core.diagnostics import bundle_clustering_stats, error_rates_by_dict_similarity
from bliss_core.core.findings import (
    clustering_finding,
    dictionary_finding,
    error_curves_finding,
    gain_finding,
    knn_finding,
)
from bliss_core.core.whatif import WhatIfResult, why_verdicts_differ

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 120


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not any("Something went wrong" in str(e.value) for e in at.error), [e.value for e in at.error]


# -- captions follow the data -----------------------------------------------------------------
def test_clustering_sentence_follows_the_numbers():
    clustered = clustering_finding(bundle_clustering_stats(make_simulated_bundle()), simulation=True)
    assert clustered.startswith("The texts huddle together far from the images")
    flat = clustering_finding(bundle_clustering_stats(make_simulated_bundle(text_bias=0.0, modality_gap=0.0)))
    assert flat.startswith("Here the texts are not clustered") and "huddle" not in flat
    untrained = clustering_finding(bundle_clustering_stats(make_simulated_bundle()), untrained=True)
    assert "mean nothing about CLIP" in untrained


def _rates(bundle, scores, is_anomaly, avg_sim):
    thr = float(np.quantile(scores[is_anomaly], 0.05))
    return error_rates_by_dict_similarity(avg_sim, is_anomaly, scores, thr, n_bins=8)


def test_error_curve_sentence_follows_the_curves():
    from bliss_core.core.live import LiveScoring

    for bias, expect_flat in ((1.0, True), (0.0, False)):
        b = make_simulated_bundle(text_bias=bias)
        live = LiveScoring(b, [0])
        internal = _rates(b, live.baseline_scores["internal"], live.is_anomaly, live.avg_dict_sim)
        bliss = _rates(b, live.view(1.0, 10).scores, live.is_anomaly, live.avg_dict_sim)
        text = error_curves_finding(internal, bliss)
        if expect_flat:
            assert "missed anomalies pile up on the right" in text and "BLISS flattens both" in text
        else:
            assert "no sign of the text bias" in text and "flattens both" not in text
    # and by hand: curves BLISS makes steeper are called so
    up = {"fn_rate": [0.0, 0.1, 0.2, 0.3], "fp_rate": [0.3, 0.2, 0.1, 0.0]}
    flat = {"fn_rate": [0.15] * 4, "fp_rate": [0.15] * 4}
    assert "BLISS flattens both error curves" in error_curves_finding(up, flat)
    assert "steeper" in error_curves_finding(flat, up)


def test_dictionary_and_gain_sentences():
    assert "far more similar to the dictionary" in dictionary_finding(np.full(10, 0.8), np.full(10, 0.2))
    assert "not clustered together" in dictionary_finding(np.full(10, 0.2), np.full(10, 0.6))
    assert "raises AUROC" in gain_finding(0.95, 0.85, 0.5, 10)
    assert "nothing here to correct" in gain_finding(0.85, 0.851, 0.5, 10)
    assert "nothing is corrected" in gain_finding(0.85, 0.85, 0.0, 10)
    assert knn_finding(0.80, 0.85) == "" and knn_finding(None, 0.85) == ""
    assert "0.950" in knn_finding(0.95, 0.85) and "never reads a label" in knn_finding(0.95, 0.85)
    assert "UNTRAINED" in knn_finding(0.95, 0.85, untrained=True)


def test_app_captions_say_the_opposite_without_bias_and_gap(monkeypatch):
    monkeypatch.delenv("BLISS_BUNDLE", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"src": "sim", "sim_text_bias": "0", "sim_modality_gap": "0"})
    at.run()
    _ok(at)
    assert any("Here the texts are not clustered" in str(c.value) for c in at.caption)
    assert not any("huddle together" in str(c.value) for c in at.caption)
    at.switch_page("pages/1_Embedding_space.py").run()
    _ok(at)
    assert any("Here the texts are not clustered" in str(c.value) for c in at.caption)
    at.switch_page("pages/2_Dictionary_similarity.py").run()
    _ok(at)
    assert not any("BLISS flattens both" in str(c.value) for c in at.caption)


# -- the scoring page ---------------------------------------------------------------------------
def _scoring_page(monkeypatch) -> AppTest:
    """The BLISS scoring page of the app on the default simulation, run once and error-free."""
    monkeypatch.delenv("BLISS_BUNDLE", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page("pages/3_BLISS_scoring.py").run()
    _ok(at)
    return at


def _metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


def test_zero_change_has_no_arrow_and_knn_is_explained(monkeypatch):
    at = _scoring_page(monkeypatch)
    assert any("image-only kNN baseline scores higher here" in str(c.value) for c in at.caption)
    at.slider(key="lam").set_value(0.0).run()
    _ok(at)
    auroc = _metric(at, "BLISS AUROC")  # at λ = 0 BLISS is the internal score: no change
    assert auroc.proto.delta.startswith("±")
    assert auroc.proto.color == auroc.proto.GRAY and auroc.proto.direction == auroc.proto.NONE
    at.slider(key="lam").set_value(1.0).run()
    moved = _metric(at, "BLISS AUROC")
    assert moved.proto.direction == moved.proto.UP and moved.proto.color == moved.proto.GREEN


# -- the guided tour ------------------------------------------------------------------------------
def test_guided_tour_walks_the_three_experiments(monkeypatch):
    monkeypatch.delenv("BLISS_BUNDLE", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.button(key="tour_start").click().run()
    _ok(at)
    pages = ["pages/1_Embedding_space.py", "pages/2_Dictionary_similarity.py", "pages/3_BLISS_scoring.py"]
    for i, page in enumerate(pages):
        # AppTest does not follow st.switch_page (a browser does: test_browser.py), so go there by hand
        at.switch_page(page).run()
        _ok(at)
        box = [m.value for m in at.markdown if "Guided tour · step" in str(m.value)]
        assert box and box[0].startswith(f"**Guided tour · step {i + 1} of 3"), box
        assert at.button(key="tour_finish" if i == 2 else "tour_next")
        if i < 2:  # the finding of the step, computed from the data
            assert any("huddle" in str(x.value) or "dictionary" in str(x.value) for x in at.info)
    at.button(key="tour_finish").click().run()
    assert at.session_state["tour"] is None
    at.run()
    assert not [m for m in at.markdown if "Guided tour · step" in str(m.value)]


# -- presenter mode ------------------------------------------------------------------------------
def test_presenter_mode_from_the_link(monkeypatch):
    monkeypatch.delenv("BLISS_BUNDLE", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["present"] = "1"
    at.run()
    _ok(at)
    assert at.toggle(key="presenter").value is True
    styles = " ".join(str(h.proto) for h in at.get("html"))
    assert "font-size: 19px" in styles and "white-space: normal" in styles
    at.switch_page("pages/3_BLISS_scoring.py").run()
    _ok(at)
    assert at.query_params.get("present") in ("1", ["1"])


# -- sharing ------------------------------------------------------------------------------------
def test_share_params_name_bundles_by_file_name_only(tmp_path, monkeypatch):
    from bliss_core.app.share import shareable
    from bliss_core.app.state import source_params

    assert source_params({"kind": "simulation"}) == {"src": "sim"}
    assert source_params({"kind": "bundle_file", "path": "/srv/data/cifar.npz"}) == {
        "src": "bundle",
        "bundle": "cifar.npz",
    }
    assert (
        shareable({"kind": "bundle_upload"})[0] is False
        and "upload" in shareable({"kind": "bundle_upload"})[1]
    )
    assert shareable({"kind": "model"})[0] is False


def test_a_link_reopens_the_bundle_it_names(tmp_path, monkeypatch):
    import os

    first = save_bundle(
        make_simulated_bundle(seed=1, n_dict=60, dim=24, test_per_class=20), tmp_path / "one.npz"
    )
    second = save_bundle(
        make_simulated_bundle(seed=2, n_dict=60, dim=24, test_per_class=20), tmp_path / "two.npz"
    )
    monkeypatch.setenv("BLISS_BUNDLE", os.pathsep.join([str(first), str(second)]))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"src": "bundle", "bundle": "two.npz", "lam": "0.75"})
    at.run()
    _ok(at)
    assert at.session_state["source"] == {"kind": "bundle_file", "path": str(second)}
    assert at.query_params.get("bundle") in ("two.npz", ["two.npz"])
    # a path in the link is never opened: only the operator's files, by name
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"src": "bundle", "bundle": str(second)})
    at.run()
    assert at.session_state["source"]["path"] == str(first)
    assert any("does not offer" in str(i.value) for i in at.info)
    # an upload cannot be shared, and the link says so instead of silently opening the simulation
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"src": "upload"})
    at.run()
    assert any("cannot be opened here" in str(i.value) for i in at.info)


def test_share_panel_shows_a_qr_code():
    from bliss_core.app.share import qr_png

    png = qr_png("http://192.0.2.1:8501/BLISS_scoring?src=sim&lam=0.5")
    assert png.startswith(b"\x89PNG") and len(png) > 200


def test_share_panel_warns_that_localhost_links_reach_nobody():
    from bliss_core.app.share import _is_local

    assert _is_local("http://localhost:8501/") and _is_local("http://127.0.0.1:8501/BLISS_scoring")
    assert not _is_local("http://192.0.2.1:8501/") and not _is_local("https://class.example.org/")


# -- what-if ------------------------------------------------------------------------------------
def _result(score, threshold):
    score = np.asarray(score, float)
    return WhatIfResult(
        internal=score,
        external=score * 0,
        score=score,
        nearest_class=np.zeros(len(score), int),
        anomalous=score >= threshold,
        threshold=threshold,
        test_metrics=None,
    )


def test_why_verdicts_differ():
    a = _result([1.0, 2.0, 0.5, 3.0], threshold=1.5)
    b = _result([1.0, 1.0, 2.0, 1.05], threshold=0.9)
    why = why_verdicts_differ(a, b)
    assert why[0] == "the threshold moved; the score alone would not flip it"  # 1.0: below 1.5, above 0.9
    assert why[1] == ""  # flagged in both
    assert why[2] == "the score moved past the threshold"  # 0.5 -> 2.0
    assert why[3] == ""


def test_scores_csv_carries_external_and_nearest_class(monkeypatch):
    at = _scoring_page(monkeypatch)
    labels = [b.proto.label for b in at.get("download_button")]
    assert any("Scores" in label for label in labels)
    assert {"⬇ ROC curves (HTML)", "⬇ Score histogram (HTML)", "⬇ λ×K heat map (HTML)"} <= set(labels)


def test_score_histogram_download_is_share_of_group():
    from bliss_core.analysis.figures import score_histogram

    scores = np.r_[np.zeros(10), np.ones(90)]
    fig = score_histogram(scores, np.r_[np.zeros(10, bool), np.ones(90, bool)], threshold=0.5, nbins=2)
    normal, anomalous = fig.data
    assert normal.name == "normal test images (10)" and anomalous.name == "anomalies (90)"

    def values(y):  # the fast figure path stores arrays as plotly's typed-array dicts
        if isinstance(y, dict):
            import base64

            return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
        return np.asarray(y, float)

    np.testing.assert_allclose([values(normal.y).sum(), values(anomalous.y).sum()], [1.0, 1.0])


def test_legend_has_one_entry_per_class():
    from bliss_core.analysis.explore import joint_points
    from bliss_core.analysis.figures import projection_scatter

    b = make_simulated_bundle(n_dict=40, dim=24, test_per_class=10, train_per_class=10)
    jp = joint_points(b, [0], sample_size=200, dict_size=40)
    fig = projection_scatter(
        np.random.default_rng(0).random((len(jp.ids), 2)),
        jp.modality,
        jp.text,
        jp.ids,
        jp.class_name,
        color_by="class",
        detail=jp.detail,
    )
    image_traces = [t.name for t in fig.data if t.name.startswith("images")]
    assert len(image_traces) == len(set(jp.class_name[: (jp.modality == "image").sum()]))
    colors = [t.marker.color for t in fig.data if t.name.startswith("images")]
    assert len(set(colors)) == len(colors)


def _table_script():
    import pandas as pd
    import streamlit as st

    from bliss_core.app.tables import show_table

    st.session_state["presenter"] = st.session_state.get("mode") == "presenter"
    show_table(
        pd.DataFrame(
            {
                "name": ["![x](http://127.0.0.1:9/p.png)", "<img src=x>", "plain"],
                "AUROC": [0.912345, float("nan"), 0.5],
                "n": [1000, 2, 3],
            }
        )
    )


def test_presenter_tables_are_static_escaped_and_rounded():
    at = AppTest.from_function(_table_script, default_timeout=TIMEOUT)
    at.session_state["mode"] = "presenter"
    at.run()
    assert not at.exception and len(at.table) == 1 and len(at.dataframe) == 0
    shown = at.table[0].value
    cells = shown.iloc[:, 0].tolist()
    assert all("](" not in c and "<img" not in c for c in cells)  # no live Markdown link or HTML tag
    assert shown.iloc[0, 1] == "0.9123" and shown.iloc[1, 1] == "–" and shown.iloc[0, 2] == "1,000"

    at = AppTest.from_function(_table_script, default_timeout=TIMEOUT)
    at.session_state["mode"] = "normal"
    at.run()
    assert len(at.dataframe) == 1 and len(at.table) == 0
    assert at.dataframe[0].value.iloc[0, 0] == "![x](http://127.0.0.1:9/p.png)"  # a grid shows text as text
