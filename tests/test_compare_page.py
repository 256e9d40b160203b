"""The Compare page under Streamlit's AppTest (run directly, as app.py's navigation runs it):
BLISS_BUNDLE files, uploads and simulations; numbers checked against independent paths; data
strings shown as text; and a Chromium screenshot of the page under a copy of app.py."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from bliss_core import BlissScorer, evaluate, load_bundle, make_simulated_bundle, save_bundle
from bliss_core.core.diagnostics import bundle_clustering_stats, threshold_at_tpr

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "5_Compare.py")
TIMEOUT = 180
HOSTILE = "**bold** <i>x [l](http.example)"  # a file name: no slash, no path separator


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(str(e.value) for e in at.error)
    assert "Something went wrong" not in text and "cannot be shown" not in text, text


def _frame(at: AppTest, column: str):
    for d in at.dataframe:
        if column in d.value.columns:
            return d.value
    raise AssertionError(f"no table with a {column!r} column")


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _bundles(tmp_path: Path) -> list[str]:
    """The same (simulated) images under two 'models': with and without the planted effect."""
    a = make_simulated_bundle(seed=1, test_per_class=20, train_per_class=30, n_dict=80, dim=32)
    b = make_simulated_bundle(seed=1, test_per_class=20, train_per_class=30, n_dict=80, dim=32, text_bias=0.0)
    b.meta.update(simulation=False, model="ViT-T", pretrained="random", untrained=True)
    return [str(save_bundle(a, tmp_path / f"{HOSTILE}.npz")), str(save_bundle(b, tmp_path / "plain.npz"))]


def _start(monkeypatch, paths: list[str] | None) -> AppTest:
    if paths:
        monkeypatch.setenv("BLISS_BUNDLE", os.pathsep.join(paths))
    else:
        monkeypatch.delenv("BLISS_BUNDLE", raising=False)
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    _ok(at)
    return at


def test_two_bundle_files_side_by_side(monkeypatch, tmp_path):
    paths = _bundles(tmp_path)
    at = _start(monkeypatch, paths)
    a, b = (load_bundle(p) for p in paths)
    labels = [os.path.basename(p) for p in paths]
    assert at.multiselect(key="cmp_selected").value == labels
    summary = _frame(at, "dictionary")
    assert summary["bundle"].tolist() == labels
    assert summary["note"].tolist() == ["SIMULATION", "UNTRAINED (random weights)"]
    assert any("UNTRAINED" in str(w.value) for w in at.warning)
    # the clustering statistics are diagnose's
    stats = _frame(at, "text ↔ text")
    for row, bundle in zip(stats.to_dict("records"), (a, b)):
        ref = bundle_clustering_stats(bundle)
        assert row["text ↔ text"] == pytest.approx(ref["text_text"]) and row["modality gap"] == pytest.approx(
            ref["modality_gap"]
        )
    # BLISS's gain at the session's lambda and K, against the protocol's evaluation
    gains = _frame(at, "gain")
    assert at.multiselect(key="cmp_normal").value == ["airplane"]
    for row, bundle in zip(gains.to_dict("records"), (a, b)):
        full = evaluate(bundle, [[0]], lams=[0.0, 0.5], topks=[10])["results"]
        assert row["internal (λ=0)"] == pytest.approx(full[0]["auroc_mean"])
        assert row["BLISS"] == pytest.approx(full[1]["auroc_mean"])
        assert row["gain"] == pytest.approx(full[1]["auroc_mean"] - full[0]["auroc_mean"])
    # verdicts at 95% TPR, computed here from the scorer and lined up by image id
    flags = []
    for bundle in (a, b):
        test = bundle.test_idx
        scores = (
            BlissScorer(lam=0.5, topk=10).fit_bundle(bundle, [0]).decision_function(bundle.image_emb[test])
        )
        y = bundle.image_label[test] != 0
        flags.append(dict(zip(bundle.image_names(test), scores >= threshold_at_tpr(y, scores, 0.95))))
    changed = sorted(i for i in flags[0] if flags[0][i] != flags[1][i])
    assert _metric(at, "Shared test images") == f"{len(flags[0]):,}"
    assert _metric(at, "Change verdict") == f"{len(changed):,}" and changed
    table = _frame(at, "truth")
    assert sorted(table["image"]) == changed
    assert len(at.get("plotly_chart")) == 1 + 2 + 1 + 2  # statistics, projections, AUROC bars, heat maps


def test_data_strings_are_text_not_markdown(monkeypatch, tmp_path):
    at = _start(monkeypatch, _bundles(tmp_path))
    assert any(HOSTILE in str(t.value) for t in at.text)
    for el in [*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.subheader, *at.title]:
        assert "<i>" not in str(el.value) and "**bold**" not in str(el.value), el.value
    # widget labels are fixed words
    for w in [*at.multiselect, *at.selectbox, *at.checkbox, *at.slider, *at.button]:
        assert "<i>" not in str(w.label)


def test_normal_classes_exclusion_and_lambda_change_the_numbers(monkeypatch, tmp_path):
    at = _start(monkeypatch, _bundles(tmp_path))
    before = _frame(at, "gain").copy()
    at.multiselect(key="cmp_normal").set_value(["cat", "dog"]).run()
    _ok(at)
    after = _frame(at, "gain")
    assert not np.allclose(before["BLISS"], after["BLISS"])
    at.session_state["lam"] = 0.0
    at.run()
    _ok(at)
    zero = _frame(at, "gain")
    np.testing.assert_allclose(zero["BLISS"], zero["internal (λ=0)"])
    assert any("λ = 0, K = 10" in str(c.value) for c in at.caption)
    at.checkbox(key="cmp_exclude").check().run()
    _ok(at)


def test_simulations_by_default_and_with_other_knobs(monkeypatch):
    at = _start(monkeypatch, None)
    assert len(at.multiselect(key="cmp_selected").value) == 2
    assert any("SIMULATION" in str(i.value) for i in at.info)
    at.slider(key="cmp_sim_text_bias").set_value(2.5).run()
    at.button(key="cmp_add_sim").click().run()
    _ok(at)
    chosen = at.multiselect(key="cmp_selected").value
    assert len(chosen) == 3 and "text bias 2.5" in chosen[-1]
    assert len(_frame(at, "gain")) == 3
    at.button(key="cmp_clear_sims").click().run()
    _ok(at)
    assert at.multiselect(key="cmp_selected").value == []
    assert any("two or more" in str(i.value) for i in at.info)


def test_uploads_join_the_comparison(monkeypatch, tmp_path):
    at = _start(monkeypatch, None)
    data = save_bundle(
        make_simulated_bundle(seed=7, test_per_class=20, train_per_class=20, n_dict=60, dim=24),
        tmp_path / "mine.npz",
    ).read_bytes()
    at.file_uploader(key="cmp_upload").set_value(
        [
            ("mine.npz", data, "application/octet-stream"),
            ("broken.npz", b"not a zip", "application/octet-stream"),
        ]
    ).run()
    _ok(at)
    assert "upload: mine.npz" in at.multiselect(key="cmp_selected").value  # a new upload joins at once
    assert any("broken.npz" in str(t.value) and "not an .npz bundle" in str(t.value) for t in at.text)
    assert _frame(at, "gain")["bundle"].tolist()[0] == "upload: mine.npz" and len(_frame(at, "gain")) == 3


def test_bundles_without_common_classes_or_ids_are_explained(monkeypatch, tmp_path):
    a = make_simulated_bundle(test_per_class=20, train_per_class=20, n_dict=60, dim=24)
    b = make_simulated_bundle(test_per_class=20, train_per_class=20, n_dict=60, dim=24, seed=3)
    b.class_names = [f"other {c}" for c in b.class_names]
    c = make_simulated_bundle(test_per_class=20, train_per_class=20, n_dict=60, dim=24, seed=4)
    c.image_id = None
    paths = [str(save_bundle(x, tmp_path / f"{n}.npz")) for x, n in ((a, "a"), (b, "b"), (c, "c"))]
    at = _start(monkeypatch, paths[:2])
    assert any("no class name in common" in str(w.value) for w in at.warning)
    at = _start(monkeypatch, [paths[0], paths[2]])
    assert any("share no test image ids" in str(i.value) for i in at.info)
    missing = str(tmp_path / "gone.npz")
    at = _start(monkeypatch, [paths[0], missing])
    assert any("gone.npz" in str(t.value) and "no such file" in str(t.value) for t in at.text)


@pytest.mark.browser
def test_screenshot_in_chromium(tmp_path):
    """The page in Chromium under app.py's navigation, with a hostile file name shown as text."""
    from streamlit_server import CHROMIUM, CHROMIUM_ARGS, SHOTS, playwright_or_skip, running_streamlit

    sync_api = playwright_or_skip()
    paths = _bundles(tmp_path)
    with (
        running_streamlit(
            ROOT / "app.py", env={"BLISS_BUNDLE": os.pathsep.join(paths)}, log_name="compare-page.log"
        ) as (url, _, _),
        sync_api.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 4400})
            page.goto(url + "/Compare")
            page.get_by_text("Images that change verdict").wait_for(timeout=90_000)
            page.wait_for_timeout(1500)
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "compare-page.png"), full_page=True)
            body = page.inner_text("body")
            assert "Something went wrong" not in body and "Traceback" not in body
            assert HOSTILE in body  # the file name, shown literally
        finally:
            browser.close()
