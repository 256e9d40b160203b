"""Every app page under Streamlit's AppTest, with the simulation and a bundle file as sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from bliss_core import make_simulated_bundle, save_bundle

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = [
    "pages/1_Embedding_space.py",
    "pages/2_Dictionary_similarity.py",
    "pages/3_BLISS_scoring.py",
    "pages/4_Label_what_if.py",
    "pages/5_Compare.py",
]
TIMEOUT = 120


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(str(e.value) for e in at.error)
    assert "Traceback" not in text
    assert "Something went wrong" not in text, text


def _metric(at: AppTest, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return m.value
    raise AssertionError(f"no metric {label!r}: {[m.label for m in at.metric]}")


def _start(monkeypatch, bundle_path: str | None = None) -> AppTest:
    if bundle_path:
        monkeypatch.setenv("BLISS_BUNDLE", bundle_path)
    else:
        monkeypatch.delenv("BLISS_BUNDLE", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    _ok(at)
    return at


@pytest.fixture()
def bundle_file(tmp_path):
    b = make_simulated_bundle(seed=3, test_per_class=40, train_per_class=60, n_dict=120, dim=48)
    return str(save_bundle(b, tmp_path / "sim.npz"))


def test_home_simulation_is_labelled(monkeypatch):
    at = _start(monkeypatch)
    assert any("SIMULATION" in str(i.value) for i in at.info)
    assert at.multiselect(key="normal_sel").value == ["airplane"]


def test_typed_normal_labels_select_classes(monkeypatch):
    """Typing class names (any case) selects them; a name no class has is explained, not applied."""
    at = _start(monkeypatch)
    at.text_input(key="normal_typed").set_value("Cat,  DOG, zebra").run()
    _ok(at)
    assert at.multiselect(key="normal_sel").value == ["cat", "dog"]
    assert any("'zebra'" in str(w.value) and "airplane" in str(w.value) for w in at.warning)
    # names of no class at all leave the selection as it was
    at.text_input(key="normal_typed").set_value("<img src=x onerror=alert(1)>").run()
    _ok(at)
    assert at.multiselect(key="normal_sel").value == ["cat", "dog"]
    assert any("No class is called" in str(w.value) for w in at.warning)
    assert not any("<img" in str(w.value) for w in at.warning)  # escaped for markdown
    at.switch_page("pages/3_BLISS_scoring.py").run()
    _ok(at)
    assert any("cat, dog" in str(m.value) for m in at.markdown)


@pytest.mark.parametrize("source", ["simulation", "bundle"])
def test_every_page_runs(monkeypatch, source, bundle_file):
    at = _start(monkeypatch, bundle_file if source == "bundle" else None)
    if source == "bundle":
        assert any("sim.npz" in str(c.value) or "SIMULATION" in str(c.value) for c in at.text)
    for page in PAGES:
        at.switch_page(page).run()
        _ok(at)
        # every page says when it shows a simulation (Compare shows nothing until two bundles are chosen)
        assert any("SIMULATION" in str(i.value) or "two or more" in str(i.value) for i in at.info), page


def _panel(at: AppTest) -> dict:
    """The numbers the scoring page's live panel drew (the component's JSON data)."""
    import json

    found = [e for e in at.get("bidi_component") if "bliss_live_panel" in str(e.proto.component_name)]
    assert len(found) == 1, "the live panel is not on the page"
    return json.loads(found[0].proto.bytes)["numbers"]


def _gallery_frames(at: AppTest):
    return [[(it["id"], it["score"]) for it in g["items"]] for g in _panel(at)["galleries"]]


def test_bliss_sliders_change_metrics_and_galleries(monkeypatch):
    at = _start(monkeypatch)
    at.switch_page("pages/3_BLISS_scoring.py").run()
    _ok(at)
    auroc0 = _metric(at, "BLISS AUROC")
    fp0 = _metric(at, "False positives")
    galleries0 = _gallery_frames(at)
    assert len(galleries0) == 2 and all(galleries0)
    at.slider(key="lam").set_value(0.0).run()
    _ok(at)
    auroc_lam0 = _metric(at, "BLISS AUROC")
    assert auroc_lam0 != auroc0
    # lambda = 0 is the internal score alone: BLISS equals the "internal only" row
    assert _metric(at, "BLISS AUROC").startswith(auroc_lam0)
    galleries1 = _gallery_frames(at)
    assert _metric(at, "False positives") != fp0 or galleries0 != galleries1
    at.slider(key="lam").set_value(1.0).run()
    at.slider(key="topk").set_value(3).run()
    _ok(at)
    auroc_k3 = _metric(at, "BLISS AUROC")
    at.slider(key="topk").set_value(40).run()
    _ok(at)
    assert _metric(at, "BLISS AUROC") != auroc_k3
    assert at.query_params.get("k") in ("40", ["40"])


def test_query_params_restore_settings(monkeypatch):
    monkeypatch.delenv("BLISS_BUNDLE", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lam"] = "1.25"
    at.query_params["k"] = "7"
    at.query_params["normal"] = "2,3"
    at.query_params["sim_text_bias"] = "nonsense"
    at.run()
    _ok(at)
    assert at.multiselect(key="normal_sel").value == ["bird", "cat"]
    at.switch_page("pages/3_BLISS_scoring.py").run()
    _ok(at)
    assert at.slider(key="lam").value == pytest.approx(1.25)
    assert at.slider(key="topk").value == 7


def test_degenerate_all_classes_normal(monkeypatch):
    at = _start(monkeypatch)
    names = at.multiselect(key="normal_sel").options
    at.multiselect(key="normal_sel").set_value(list(names)).run()
    _ok(at)
    assert any("no anomalies" in str(w.value) for w in at.warning)
    for page in PAGES:
        at.switch_page(page).run()
        _ok(at)
        if "BLISS_scoring" in page:
            assert at.warning or at.error  # the scoring page explains instead of failing


def test_embedding_space_methods(monkeypatch):
    at = _start(monkeypatch)
    at.switch_page("pages/1_Embedding_space.py").run()
    _ok(at)
    at.radio(key="color_by").set_value("class").run()
    _ok(at)
    at.select_slider(key="sample_size").set_value(250).run()
    _ok(at)
    assert len(at.get("plotly_chart")) >= 1
    assert at.query_params.get("proj") in ("pca", ["pca"])


@pytest.mark.slow
def test_embedding_space_tsne_umap(monkeypatch):
    """t-SNE and UMAP (whose first call compiles numba code) take tens of seconds on a small CPU."""
    at = _start(monkeypatch)
    at.switch_page("pages/1_Embedding_space.py").run()
    at.select_slider(key="sample_size").set_value(250).run()
    at.selectbox(key="proj_method").set_value("tsne").run()
    _ok(at)
    assert at.query_params.get("proj") in ("tsne", ["tsne"])
    at.selectbox(key="proj_method").set_value("umap").run()
    _ok(at)
    at.slider(key="n_neighbors").set_value(8).run()
    _ok(at)


def test_whatif_compares_label_sets(monkeypatch):
    at = _start(monkeypatch)
    at.switch_page("pages/4_Label_what_if.py").run()
    _ok(at)
    frames = [d.value for d in at.dataframe if "verdict" in d.value.columns]
    assert len(frames) == 2
    a0 = frames[0]["BLISS"].to_numpy().copy()
    b0 = frames[1]["BLISS"].to_numpy().copy()
    assert not np.allclose(a0, b0)  # B has one more normal class by default
    at.multiselect(key="wi_classes_B").set_value(["cat"]).run()
    _ok(at)
    frames = [d.value for d in at.dataframe if "verdict" in d.value.columns]
    assert not np.allclose(frames[1]["BLISS"].to_numpy(), b0)
    at.slider(key="lam").set_value(0.0).run()
    _ok(at)
    frames = [d.value for d in at.dataframe if "verdict" in d.value.columns]
    assert np.allclose(frames[0]["BLISS"], frames[0]["internal"])
    # uploads without a model: explained, not an exception
    at.radio(key="wi_src").set_value("upload").run()
    _ok(at)


def test_missing_bundle_file_is_explained(monkeypatch, tmp_path):
    at = _start(monkeypatch, str(tmp_path / "nope.npz"))
    assert any("no such file" in str(e.value) for e in at.error)
    at.switch_page("pages/3_BLISS_scoring.py").run()
    _ok(at)
    assert any("no such file" in str(e.value) for e in at.error)


def test_k_above_dictionary_size_is_explained(monkeypatch, tmp_path):
    b = make_simulated_bundle(seed=2, test_per_class=30, train_per_class=40, n_dict=6, dim=32)
    path = str(save_bundle(b, tmp_path / "small_dict.npz"))
    monkeypatch.setenv("BLISS_BUNDLE", path)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["k"] = "40"
    at.run()
    _ok(at)
    for page in ("pages/3_BLISS_scoring.py", "pages/4_Label_what_if.py"):
        at.switch_page(page).run()
        _ok(at)
        assert at.slider(key="topk").value <= 6
        if "BLISS" in page:
            assert any("only 6 entries" in str(c.value) for c in at.caption), page


def test_hostile_class_names_are_not_rendered_as_markup(monkeypatch, tmp_path):
    b = make_simulated_bundle(seed=2, test_per_class=30, train_per_class=40, n_dict=50, dim=32)
    b.class_names[0] = "<img src=x onerror=alert(1)> [link](http://evil) **bold**"
    path = str(save_bundle(b, tmp_path / "hostile.npz"))
    monkeypatch.setenv("BLISS_BUNDLE", path)
    at = _start(monkeypatch, path)
    for page in PAGES:
        at.switch_page(page).run()
        _ok(at)
        for md in at.markdown:
            assert "<img" not in md.value and "](http" not in md.value
