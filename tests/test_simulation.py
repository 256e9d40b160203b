"""The teaching simulation teaches the right lesson: BLISS corrects the planted text bias, and
only that; its statistics sit where CLIP ViT-B/32's are published."""

from __future__ import annotations

import pytest

from bliss_core import evaluate, make_simulated_bundle, setup_splits
from bliss_core.app.state import DEFAULT_LAMBDA, DEFAULT_SIM, DEFAULT_TOPK
from bliss_core.cli.evaluate import add_parser
from bliss_core.core.diagnostics import bundle_clustering_stats
from bliss_core.core.simulate import CALIBRATION, SimulationConfig


def _gain(**knobs) -> float:
    b = make_simulated_bundle(**knobs)
    res = evaluate(
        b, setup_splits("one-class", len(b.class_names)), lams=[0.0, DEFAULT_LAMBDA], topks=[DEFAULT_TOPK]
    )
    internal, bliss = (r["auroc_mean"] for r in res["results"])
    return bliss - internal


def test_bliss_corrects_the_planted_bias_and_only_that():
    assert _gain() >= 0.05
    assert abs(_gain(text_bias=0.0)) <= 0.01
    for seed in (1, 2):  # not a property of one draw
        assert _gain(seed=seed) >= 0.05 and abs(_gain(text_bias=0.0, seed=seed)) <= 0.01


def test_statistics_are_calibrated_to_published_clip_figures():
    stats = bundle_clustering_stats(make_simulated_bundle())
    for key, (target, source) in CALIBRATION.items():
        assert stats[key] == pytest.approx(target, abs=0.05), (key, stats[key], source)
    flat = bundle_clustering_stats(make_simulated_bundle(modality_gap=0.0))
    assert flat["modality_gap"] < 0.3 and flat["text_text"] - flat["image_text"] < 0.05


def test_the_app_and_the_cli_use_the_library_defaults():
    cfg = SimulationConfig()
    for knob, value in DEFAULT_SIM.items():
        assert value == getattr(cfg, knob), knob
    import argparse

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    ev = parser.parse_args(["evaluate", "--bundle", "x", "--setup", "1"])
    assert ev.lam == [DEFAULT_LAMBDA] and ev.topk == [DEFAULT_TOPK]


def test_dictionary_entries_are_words():
    b = make_simulated_bundle()
    assert b.dict_names[:3] == ["apple", "apron", "anchor"]
    assert not set(b.dict_names) & set(b.class_names)
    assert len(set(make_simulated_bundle(n_dict=1000).dict_names)) == 1000
