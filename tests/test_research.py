"""Research studies: names for classes, excluding normal names from the dictionary, few shots."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import random_bundle

from bliss_core import BlissScorer, evaluate, make_simulated_bundle, save_bundle
from bliss_core.cli import main
from bliss_core.core.bundle import Bundle
from bliss_core.core.evaluate import normal_name_entries
from bliss_core.core.splits import parse_classes, parse_normal_sets


def _with_class_names_in_dictionary(seed: int = 0) -> Bundle:
    """A random bundle whose dictionary contains its class names (mixed case and spaces)."""
    b = random_bundle(seed=seed, n_dict=30)
    b.dict_names[3] = " CLASS0 "
    b.dict_names[7] = "class1"
    b.dict_names[8] = "class1"  # a duplicate entry: both go
    b.dict_names[11] = "class2x"  # not equal: stays
    return b


def test_names_or_indices():
    names = ["airplane", "automobile", "bird", "cat"]
    assert parse_classes("airplane,3", names) == [0, 3]
    assert parse_classes("Cat, BIRD", names) == [3, 2]
    assert parse_normal_sets("airplane;cat,bird", names) == [[0], [3, 2]]
    from bliss_core.errors import SplitError

    with pytest.raises(SplitError, match="no class is called 'dog'"):
        parse_classes("dog", names)


def test_exclusion_matches_scoring_without_those_entries():
    """The slow path: rebuild the bundle without the excluded dictionary rows and score afresh."""
    b = _with_class_names_in_dictionary()
    for split in ([0], [1, 2], [0, 1]):
        drop = normal_name_entries(b, split)
        assert drop == {
            j for j, e in enumerate(b.dict_names) if e.strip().lower() in {f"class{c}" for c in split}
        }
        test = b.image_emb[b.test_idx]
        fast = BlissScorer(lam=0.7, topk=5).fit_bundle(b, split)
        fast_scores = fast.precompute(test, max_topk=5 + len(drop)).excluding(drop, 5).scores(0.7, 5)
        keep = [j for j in range(len(b.dict_names)) if j not in drop]
        slim = Bundle(
            b.image_emb,
            b.image_label,
            b.image_is_train,
            b.class_names,
            b.class_text_emb,
            [b.dict_names[j] for j in keep],
            b.dict_text_emb[keep],
            b.meta,
            b.image_id,
        )
        slow_scores = BlissScorer(lam=0.7, topk=5).fit_bundle(slim, split).decision_function(test)
        np.testing.assert_allclose(fast_scores, slow_scores, rtol=1e-6, atol=1e-6)  # float32 products
    # and through evaluate (union fit, one precomputation for all splits)
    res = evaluate(b, [[0], [1, 2]], lams=[0.7], topks=[5], exclude_normal_names=True)
    assert res["splits"][0]["excluded_entries"] == [" CLASS0 "] and res["exclude_normal_names"] is True


def test_cli_exclude_normal_names(tmp_path, capsys):
    path = save_bundle(_with_class_names_in_dictionary(), tmp_path / "b.npz")
    args = ["evaluate", "--bundle", str(path), "--normal-sets", "class0;class1", "--topk", "5", "--json"]
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(args + ["--exclude-normal-names"]) == 0
    excl = json.loads(capsys.readouterr().out)
    assert plain["auroc_mean"] != excl["auroc_mean"]
    out = tmp_path / "s.csv"
    assert (
        main(
            [
                "score",
                "--bundle",
                str(path),
                "--normal",
                "class1",
                "--topk",
                "5",
                "--exclude-normal-names",
                "--out",
                str(out),
            ]
        )
        == 0
    )


def test_shots_at_least_every_class_is_the_full_evaluation():
    b = make_simulated_bundle(train_per_class=30, test_per_class=20, n_dict=80, dim=24)
    full = evaluate(b, [[0], [1, 2]], lams=[0, 0.5], topks=[3, 10])
    many = evaluate(b, [[0], [1, 2]], lams=[0, 0.5], topks=[3, 10], shots=30, seeds=3)
    assert many["shots"] == 30 and many["seeds"] == 3
    for a, c in zip(full["results"], many["results"]):
        assert a["auroc_mean"] == c["auroc_mean"] and [r["auroc"] for r in a["splits"]] == [
            r["auroc"] for r in c["splits"]
        ]
        assert c["auroc_seed_std"] == 0.0


def test_few_shots_vary_with_the_seed(tmp_path, capsys):
    b = make_simulated_bundle(train_per_class=40, test_per_class=30, n_dict=80, dim=24)
    path = save_bundle(b, tmp_path / "sim.npz")
    assert (
        main(["evaluate", "--bundle", str(path), "--setup", "1", "--shots", "3", "--seeds", "4", "--json"])
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert res["shots"] == 3 and res["seeds"] == 4
    assert len(res["auroc_seed_means"]) == 4 and res["auroc_seed_std"] > 0
    assert res["auroc_mean"] == pytest.approx(np.mean(res["auroc_seed_means"]))
    assert main(["evaluate", "--bundle", str(path), "--setup", "1", "--seeds", "4"]) == 2
    assert "needs --shots" in capsys.readouterr().err


def test_evaluate_table_names_classes(tmp_path, capsys):
    path = save_bundle(make_simulated_bundle(n_dict=60, dim=24, test_per_class=20), tmp_path / "s.npz")
    assert main(["evaluate", "--bundle", str(path), "--normal-sets", "airplane;cat,dog"]) == 0
    out = capsys.readouterr().out
    assert "airplane " in out and "cat,dog " in out
