"""``bliss compare``: rows per bundle checked against slow paths, the JSON, the HTML report and the
shared plotly.js; verdict changes between bundles; ``bliss diagnose`` sharing plotly.js too."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import warnings

import numpy as np
import pytest
from conftest import random_bundle
from sklearn.metrics import roc_auc_score

from bliss_core import BlissScorer, KNNScorer, MaxSimScorer, make_simulated_bundle, save_bundle
from bliss_core.cli import main
from bliss_core.core.compare import compare_row, compare_verdicts, shared_test_ids

STATS = ("text_text", "image_image", "image_text", "modality_gap")


def _json(capsys, *args: str) -> dict:
    assert main(["compare", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture()
def two(tmp_path):
    a = random_bundle(seed=1, n_dict=30)
    a.meta.update(model="ViT-T", pretrained="tag-a", prompt="a photo of a {}", dictionary="words.txt")
    b = random_bundle(seed=2, n_dict=30)
    b.meta.update(
        model="ViT-U", pretrained="random", untrained=True, prompt="openai-imagenet", dictionary="imagenet"
    )
    return save_bundle(a, tmp_path / "alpha.npz"), save_bundle(b, tmp_path / "beta.npz"), a, b


def test_a_bundle_compared_with_itself_gives_identical_rows(two, tmp_path, capsys):
    a_path = two[0]
    res = _json(capsys, str(a_path), str(a_path), "--setup", "1")
    assert res["bundles"][0] == res["bundles"][1]
    copy = tmp_path / "copy.npz"
    shutil.copy(a_path, copy)
    res = _json(capsys, str(a_path), str(copy), "--normal-sets", "class0;class1,class2", "--lam", "0.75")
    first, second = ({k: v for k, v in r.items() if k not in ("name", "path")} for r in res["bundles"])
    assert first == second
    assert [r["name"] for r in res["bundles"]] == ["alpha", "copy"]


def test_json_keys_and_meta(two, capsys):
    a_path, b_path, _, _ = two
    res = _json(capsys, str(a_path), str(b_path), "--setup", "one-class", "--lam", "0.25", "--topk", "5")
    assert set(res) == {"setup", "lam", "topk", "bundles"}
    assert (res["setup"], res["lam"], res["topk"]) == ("one-class", 0.25, 5)
    row_a, row_b = res["bundles"]
    assert row_a["name"] == "alpha" and row_a["path"] == str(a_path)
    assert row_a["meta"] == {
        "model": "ViT-T",
        "weights": "tag-a",
        "prompt": "a photo of a {}",
        "dictionary": "words.txt",
    }
    assert (
        row_b["meta"]["prompt"] == "openai-imagenet"
        and row_b["untrained"] is True
        and row_a["untrained"] is False
    )
    for row in res["bundles"]:
        assert set(STATS) <= set(row["clustering"])
        assert set(row["auroc"]) == {"internal", "bliss", "maxsim", "knn"}
        assert set(row["best"]) == {"lam", "topk", "auroc"}
        assert all(0 <= v <= 1 for v in row["auroc"].values())


def test_clustering_statistics_against_pairwise_loops(tmp_path, capsys):
    """By hand on a tiny bundle: every pair of distinct texts, of distinct images, every image-text pair."""
    b = random_bundle(seed=5, n_classes=3, n_train=3, n_test=2, dim=6, n_dict=4)
    path = save_bundle(b, tmp_path / "tiny.npz")
    row = _json(capsys, str(path), "--setup", "1", "--topk", "2")["bundles"][0]

    def unit(v):
        return v / np.linalg.norm(v)

    imgs = [unit(v.astype(np.float64)) for v in b.image_emb]
    txts = [unit(v.astype(np.float64)) for v in np.vstack([b.class_text_emb, b.dict_text_emb])]
    tt = [float(x @ y) for i, x in enumerate(txts) for j, y in enumerate(txts) if i != j]
    ii = [float(x @ y) for i, x in enumerate(imgs) for j, y in enumerate(imgs) if i != j]
    it = [float(x @ y) for x in imgs for y in txts]
    gap = np.linalg.norm(sum(imgs) / len(imgs) - sum(txts) / len(txts))
    c = row["clustering"]
    assert len(tt) == 7 * 6 and len(ii) == 15 * 14
    assert c["text_text"] == pytest.approx(sum(tt) / len(tt), abs=1e-6)
    assert c["image_image"] == pytest.approx(sum(ii) / len(ii), abs=1e-6)
    assert c["image_text"] == pytest.approx(sum(it) / len(it), abs=1e-6)
    assert c["modality_gap"] == pytest.approx(gap, abs=1e-6)


def test_aurocs_and_best_against_scoring_each_split_afresh():
    """The slow path: fit every scorer on one split's reference images only and score with sklearn."""
    b = random_bundle(seed=3, n_classes=4, n_train=10, n_test=8, dim=12, n_dict=25)
    splits = [[0], [1, 2], [3]]
    row = compare_row(b, splits, lam=0.6, topk=4, knn_k=3)
    test = b.image_emb[b.test_idx]

    def mean_auroc(make):
        out = []
        for s in splits:
            y = ~np.isin(b.image_label[b.test_idx], s)
            out.append(roc_auc_score(y, make().fit_bundle(b, s).decision_function(test)))
        return float(np.mean(out))

    assert row["auroc"]["internal"] == pytest.approx(
        mean_auroc(lambda: BlissScorer(lam=0.0, topk=4)), abs=1e-9
    )
    assert row["auroc"]["bliss"] == pytest.approx(mean_auroc(lambda: BlissScorer(lam=0.6, topk=4)), abs=1e-9)
    assert row["auroc"]["maxsim"] == pytest.approx(mean_auroc(MaxSimScorer), abs=1e-9)
    assert row["auroc"]["knn"] == pytest.approx(mean_auroc(lambda: KNNScorer(k=3)), abs=1e-9)
    # the grid: K clipped to the 25 entries
    grid = {
        (lam, k): mean_auroc(lambda: BlissScorer(lam=lam, topk=k))
        for lam, k in itertools.product([0, 0.25, 0.5, 0.75, 1, 1.5, 2], [1, 5, 10, 20, 25])
    }
    best = max(grid.values())
    assert row["best"]["auroc"] == pytest.approx(best, abs=1e-9)
    assert grid[(row["best"]["lam"], row["best"]["topk"])] == pytest.approx(best, abs=1e-9)


def test_exclude_normal_names(tmp_path, capsys):
    b = random_bundle(seed=4, n_dict=30)
    b.dict_names[2], b.dict_names[5] = " Class0", "class1"
    # entries near some test images, so that leaving them out changes those images' top K
    test = b.image_emb[b.test_idx]
    b.dict_text_emb[2] = test[:5].mean(axis=0)
    b.dict_text_emb[5] = test[-5:].mean(axis=0)
    path = save_bundle(b, tmp_path / "d.npz")
    from bliss_core import evaluate, load_bundle

    b = load_bundle(path)
    args = [str(path), "--normal-sets", "class0;class1", "--topk", "5"]
    plain = _json(capsys, *args)["bundles"][0]
    excl = _json(capsys, *args, "--exclude-normal-names")["bundles"][0]
    assert excl["exclude_normal_names"] is True and plain["exclude_normal_names"] is False
    ref = evaluate(b, [[0], [1]], lams=[0.5], topks=[5], exclude_normal_names=True)["auroc_mean"]
    assert excl["auroc"]["bliss"] == pytest.approx(ref) and plain["auroc"]["bliss"] != excl["auroc"]["bliss"]
    assert excl["auroc"]["internal"] == plain["auroc"]["internal"]  # lambda 0 does not use the dictionary


def test_table_marks_untrained_and_escapes(two, capsys):
    a_path, b_path, _, _ = two
    assert main(["compare", str(a_path), str(b_path), "--setup", "1"]) == 0
    out = capsys.readouterr().out
    assert "alpha" in out and "beta" in out and "UNTRAINED" in out and "(AUROC in percent" in out


def test_errors_are_one_line(two, tmp_path, capsys):
    a_path = two[0]
    cases = [
        [str(tmp_path / "missing.npz"), "--setup", "1"],
        [str(a_path), "--setup", "1", "--topk", "31"],
        [str(a_path), "--normal-sets", "zebra"],
        [str(a_path), "--setup", "1", "--out", str(a_path)],
    ]
    for args in cases:
        assert main(["compare", *args]) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("bliss: error: ") and err.count("\n") == 1, err


def test_report_html_shares_plotly_js_and_escapes(tmp_path, capsys):
    sim = make_simulated_bundle(test_per_class=20, train_per_class=20, n_dict=60, dim=24)
    sim.class_names[0] = '<img src=x onerror="alert(1)">'
    a = save_bundle(sim, tmp_path / "a.npz")
    b = save_bundle(
        make_simulated_bundle(test_per_class=20, train_per_class=20, n_dict=60, dim=24, text_bias=0.0),
        tmp_path / "<b>.npz",
    )
    out = tmp_path / "new" / "report"
    assert main(["compare", str(a), str(b), "--setup", "1", "--out", str(out), "--projection", "pca"]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in out.iterdir())
    assert names == ["compare.csv", "compare.html", "compare.json", "plotly.min.js"]
    page = (out / "compare.html").read_text()
    assert '<script charset="utf-8" src="plotly.min.js"></script>' in page
    assert "cdn.plot.ly" not in page and len(page) < 1_000_000  # plotly.js is not inlined
    assert "<img src=x" not in page and "<b>" not in page
    assert page.count('class="plotly-graph-div"') == 4  # two bars, two projections
    from plotly.offline import get_plotlyjs

    js = out / "plotly.min.js"
    assert js.read_text(encoding="utf-8") == get_plotlyjs()
    data = json.loads((out / "compare.json").read_text())
    assert set(data) == {"setup", "lam", "topk", "bundles"} and len(data["bundles"]) == 2
    csv_text = (out / "compare.csv").read_text()
    assert csv_text.splitlines()[0].startswith("name,path,model")
    # an existing folder works, and plotly.min.js is written once
    before = js.stat().st_mtime_ns
    assert main(["compare", str(a), "--setup", "1", "--out", str(out), "--projection", "pca"]) == 0
    assert js.stat().st_mtime_ns == before


def test_diagnose_figures_share_one_plotly_js(tmp_path, capsys):
    path = save_bundle(random_bundle(n_train=20, n_test=10), tmp_path / "b.npz")
    out = tmp_path / "diag"
    assert main(["diagnose", "--bundle", str(path), "--out", str(out), "--projection", "pca"]) == 0
    capsys.readouterr()
    pages = sorted(out.glob("*.html"))
    assert len(pages) >= 5
    for page in pages:
        text = page.read_text()
        assert '<script charset="utf-8" src="plotly.min.js"></script>' in text and len(text) < 1_000_000, page
    assert (out / "plotly.min.js").stat().st_size > 3_000_000


@pytest.mark.browser
def test_report_opens_offline_in_chromium(tmp_path, capsys):
    from streamlit_server import CHROMIUM, CHROMIUM_ARGS, playwright_or_skip

    sync_api = playwright_or_skip()
    sim = make_simulated_bundle(test_per_class=20, train_per_class=20, n_dict=60, dim=24)
    a = save_bundle(sim, tmp_path / "a.npz")
    out = tmp_path / "rep"
    assert main(["compare", str(a), str(a), "--setup", "1", "--out", str(out), "--projection", "pca"]) == 0
    diag = tmp_path / "diag"
    assert main(["diagnose", "--bundle", str(a), "--out", str(diag), "--projection", "pca"]) == 0
    capsys.readouterr()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            for url, n_plots in ((out / "compare.html").as_uri(), 4), ((diag / "roc.html").as_uri(), 1):
                page.goto(url)
                page.wait_for_function("document.querySelectorAll('.main-svg').length > 0", timeout=20_000)
                assert page.evaluate("typeof window.Plotly") == "object"
                assert page.evaluate("document.querySelectorAll('.plot-container').length") == n_plots
            assert not errors, errors
        finally:
            browser.close()


def test_verdict_changes_between_bundles():
    ids_a = ["x", "y", "z", "dup", "dup", "only-a"]
    ids_b = ["z", "y", "x", "dup", "only-b"]
    assert shared_test_ids([ids_a, ids_b]) == ["x", "y", "z"]
    assert shared_test_ids([ids_a, None]) == []
    flags_a = np.array([True, False, True, False, True, True])
    flags_b = np.array([True, True, True, False, False])  # z, y, x, dup, only-b
    v = compare_verdicts([ids_a, ids_b], [flags_a, flags_b])
    assert v.ids == ["x", "y", "z"]
    assert v.positions.tolist() == [[0, 2], [1, 1], [2, 0]]
    assert v.flagged.tolist() == [[True, True], [False, True], [True, True]]
    assert v.changed.tolist() == [False, True, False] and v.n_changed == 1


def test_umap_warnings_stay_inside_the_projection(monkeypatch):
    """UMAP's UserWarnings are silenced for the projection only: the process's filters are as before."""
    from bliss_core.analysis.projection import project

    monkeypatch.setenv("BLISS_PROJECTION_CACHE", "off")
    pts = np.random.default_rng(0).standard_normal((60, 8)).astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        project(pts, "umap", seed=1, n_epochs=20)
        after = list(warnings.filters)
        warnings.warn("still heard", UserWarning)
    assert before == after
    leaked = [str(w.message) for w in caught if issubclass(w.category, UserWarning) and "umap" in w.filename]
    assert not leaked, leaked
    assert any("still heard" in str(w.message) for w in caught)
    assert os.environ.get("BLISS_PROJECTION_CACHE") == "off"


def test_compare_does_not_import_torch(two):
    """Like evaluate, compare reads bundles only: no torch (seconds of start-up, and not installed everywhere)."""
    import subprocess
    import sys

    code = (
        "import sys, json; from bliss_core.cli import main; "
        f"rc = main(['compare', {str(two[0])!r}, {str(two[1])!r}, '--setup', '1', '--json']); "
        "print('torch' in sys.modules); sys.exit(rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
