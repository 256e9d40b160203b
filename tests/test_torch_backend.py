"""The torch scoring backend on CPU tensors gives the numpy path's AUROCs and scores, and
``--device`` picks the backend without importing torch on a machine without a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from bliss_core import BlissScorer, evaluate, make_simulated_bundle, save_bundle
from bliss_core.cli import main
from bliss_core.core.kernels import NumpyKernels, resolve_backend
from bliss_core.core.scorers import make_scorer
from bliss_core.errors import DeviceError
from bliss_core.scale import torch_backend as T
from bliss_core.scale.torch_backend import TorchKernels, auto_backend

REPO = Path(__file__).resolve().parents[1]
CPU = TorchKernels("cpu")


@pytest.fixture(scope="module")
def sim():
    b = make_simulated_bundle(seed=4, train_per_class=50, test_per_class=25, dim=40, n_dict=120)
    # two class names in the dictionary, so that excluding them changes something
    b.dict_names[5], b.dict_names[9] = b.class_names[0], b.class_names[3].upper()
    return b


def _same_result(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for ra, rb in zip(a["results"], b["results"]):
        assert (ra["lam"], ra["topk"]) == (rb["lam"], rb["topk"])
        for sa, sb in zip(ra["splits"], rb["splits"]):
            assert sa["normal"] == sb["normal"] and sa.get("excluded_entries") == sb.get("excluded_entries")
            for key in ("auroc", "aupr", "fpr95", "fpr95_ood"):
                assert sa[key] == pytest.approx(sb[key], abs=1e-12), key
        assert ra["auroc_mean"] == pytest.approx(rb["auroc_mean"], abs=1e-12)


@pytest.mark.parametrize("method", ["bliss", "maxsim", "knn", "mcm"])
@pytest.mark.parametrize(
    "splits",
    [[[0], [4], [9]], [[0, 1, 2], [3, 5, 7, 9]], [[c for c in range(10) if c != 6]]],
    ids=["one-class", "groups", "leave-one-out"],
)
def test_same_aurocs_as_numpy(sim, method, splits):
    if method == "mcm" and any(len(s) < 2 for s in splits):
        pytest.skip("MCM needs two normal classes")
    kw = dict(lams=[0, 0.5, 1.0], topks=[1, 10], method=method, knn_k=3)
    _same_result(evaluate(sim, splits, backend=CPU, **kw), evaluate(sim, splits, backend="numpy", **kw))


@pytest.mark.parametrize("exclude,shots,seeds", [(True, None, 1), (False, 5, 3), (True, 8, 2)])
def test_same_aurocs_with_exclusion_and_shots(sim, exclude, shots, seeds):
    splits = [[0], [3], [0, 3, 4]]
    kw = dict(lams=[0.5, 0.75], topks=[3, 10], exclude_normal_names=exclude, shots=shots, seeds=seeds)
    torch_res, numpy_res = (
        evaluate(sim, splits, backend=CPU, **kw),
        evaluate(sim, splits, backend="numpy", **kw),
    )
    _same_result(torch_res, numpy_res)
    if shots:
        assert torch_res["results"][0]["auroc_seed_means"] == pytest.approx(
            numpy_res["results"][0]["auroc_seed_means"], abs=1e-12
        )


def test_scores_and_statistics_agree_tightly(sim):
    test = sim.image_emb[sim.test_idx]
    for normal in ([2], [1, 6, 8]):
        t = BlissScorer(lam=0.5, topk=10, backend=CPU).fit_bundle(sim, normal)
        n = BlissScorer(lam=0.5, topk=10, backend="numpy").fit_bundle(sim, normal)
        np.testing.assert_allclose(t.dict_sd_, n.dict_sd_, rtol=1e-5)
        np.testing.assert_allclose(t.dict_mu_, n.dict_mu_, atol=1e-6)
        np.testing.assert_allclose([t.mu_, t.sd_], [n.mu_, n.sd_], rtol=1e-5)
        pt, pn = t.precompute(test, max_topk=30), n.precompute(test, max_topk=30)
        assert np.array_equal(pt.topk_idx, pn.topk_idx)
        np.testing.assert_allclose(pt.topk_sim, pn.topk_sim, atol=1e-6)
        for lam, k in ((0.5, 10), (1.0, 30), (0.0, 1)):
            np.testing.assert_allclose(pt.scores(lam, k), pn.scores(lam, k), rtol=1e-5, atol=1e-5)
    for method, params in (("maxsim", {}), ("knn", {"k": 4}), ("mcm", {})):
        a = make_scorer(method, **params, backend=CPU).fit_bundle(sim, [0, 1]).decision_function(test)
        b = make_scorer(method, **params, backend="numpy").fit_bundle(sim, [0, 1]).decision_function(test)
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_memory_mapped_float16_rows(tmp_path, sim):
    from bliss_core.core.bundle import load_bundle

    mapped = load_bundle(save_bundle(sim, tmp_path / "h.npz", float16=True), mmap=True)
    assert mapped.mapped and mapped.image_emb.dtype == np.float16
    _same_result(
        evaluate(mapped, [[0], [1, 2]], backend=CPU), evaluate(mapped, [[0], [1, 2]], backend="numpy")
    )


def test_class_stats_with_more_references_than_dimensions():
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((300, 16)).astype(np.float32) + 2.0  # n > D: the Cholesky factor
    labels = np.repeat([0, 1, 2], 100)
    text, dic = rng.standard_normal((3, 16)), rng.standard_normal((50, 16))
    a = CPU.class_stats(ref, labels, np.arange(3), text, dic, 1e-8)
    b = NumpyKernels().class_stats(ref, labels, np.arange(3), text, dic, 1e-8)
    for x, y in zip((a.mu, a.sd, a.dict_mu, a.dict_sd), (b.mu, b.sd, b.dict_mu, b.dict_sd)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)


def test_registered_as_torch_and_refuses_bad_rows(sim):
    assert isinstance(resolve_backend("torch"), TorchKernels)
    bad = np.array(sim.image_emb[:4], dtype=np.float32)
    bad[1] = 0.0
    scorer = BlissScorer(backend=CPU).fit_bundle(sim, [0])
    with pytest.raises(Exception, match="zero length or non-finite"):
        scorer.decision_function(bad)


def test_auto_backend_choices(monkeypatch):
    assert auto_backend("cpu") == "numpy"
    monkeypatch.setattr(T, "gpu_hint", lambda: False)
    assert auto_backend("auto") == "numpy"
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        auto_backend("cuda")
    with pytest.raises(DeviceError, match="unknown device"):
        auto_backend("tpu")
    # None: the operator's BLISS_DEVICE (what the app calls)
    monkeypatch.setenv("BLISS_DEVICE", "cpu")
    assert auto_backend() == "numpy"
    monkeypatch.setenv("BLISS_DEVICE", "cuda")
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        auto_backend()
    monkeypatch.delenv("BLISS_DEVICE")
    assert auto_backend() == "numpy"


def test_auto_decides_no_gpu_without_importing_torch(tmp_path):
    if T.gpu_hint():
        pytest.skip("this machine may have a GPU")
    code = (
        "import sys; from bliss_core.cli.common import scoring_backend; "
        "print(scoring_backend('auto'), 'torch' in sys.modules)"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.split() == ["numpy", "False"], out.stderr


@pytest.mark.parametrize("command", ["evaluate", "score", "compare"])
def test_cuda_without_gpu_is_one_line(tmp_path, sim, capsys, command):
    if T.cuda_available():
        pytest.skip("a CUDA GPU is present")
    path = save_bundle(sim, tmp_path / "b.npz")
    argv = {
        "evaluate": ["evaluate", "--bundle", str(path), "--setup", "1"],
        "score": ["score", "--bundle", str(path), "--normal", "0", "--out", str(tmp_path / "s.csv")],
        "compare": ["compare", str(path), str(path), "--setup", "1"],
    }[command] + ["--device", "cuda"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("bliss: error:") and "no CUDA GPU" in err and err.count("\n") == 1


def test_cli_devices_give_the_same_outputs(tmp_path, sim, capsys, monkeypatch):
    path = save_bundle(sim, tmp_path / "b.npz")
    outs = []
    for device in ("cpu", "auto"):
        assert main(["evaluate", "--bundle", str(path), "--setup", "6", "--json", "--device", device]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    assert outs[0] == outs[1]
    # --device cuda runs the torch kernels: pretend there is a GPU and run them on CPU tensors
    monkeypatch.setattr(
        "bliss_core.cli.common.scoring_backend", lambda device: CPU if device == "cuda" else "numpy"
    )
    monkeypatch.setattr(
        "bliss_core.cli.evaluate.scoring_backend", lambda device: CPU if device == "cuda" else "numpy"
    )
    monkeypatch.setattr(
        "bliss_core.cli.score.scoring_backend", lambda device: CPU if device == "cuda" else "numpy"
    )
    assert main(["evaluate", "--bundle", str(path), "--setup", "6", "--json", "--device", "cuda"]) == 0
    _same_result(json.loads(capsys.readouterr().out), outs[0])
    csvs = []
    for device in ("cpu", "cuda"):
        out = tmp_path / f"{device}.csv"
        assert (
            main(["score", "--bundle", str(path), "--normal", "0,3", "--out", str(out), "--device", device])
            == 0
        )
        csvs.append(out.read_text().splitlines())
    assert csvs[0][0] == csvs[1][0] and len(csvs[0]) == len(csvs[1])
    a = np.array([[float(v) for v in row.split(",")[5:8]] for row in csvs[0][1:]])
    b = np.array([[float(v) for v in row.split(",")[5:8]] for row in csvs[1][1:]])
    np.testing.assert_allclose(a, b, atol=2e-5)


def test_compare_devices_give_the_same_rows(tmp_path, sim, capsys, monkeypatch):
    path = save_bundle(sim, tmp_path / "b.npz")
    assert main(["compare", str(path), str(path), "--setup", "1", "--json", "--device", "cpu"]) == 0
    on_cpu = json.loads(capsys.readouterr().out)
    monkeypatch.setattr(
        "bliss_core.cli.compare.scoring_backend", lambda device: CPU if device == "cuda" else "numpy"
    )
    assert main(["compare", str(path), str(path), "--setup", "1", "--json", "--device", "cuda"]) == 0
    on_torch = json.loads(capsys.readouterr().out)
    for a, b in zip(on_cpu["bundles"], on_torch["bundles"]):
        assert a["best"]["lam"] == b["best"]["lam"] and a["best"]["topk"] == b["best"]["topk"]
        for key in ("internal", "bliss", "maxsim", "knn"):
            assert abs(a["auroc"][key] - b["auroc"][key]) < 1e-9, key
