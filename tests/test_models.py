"""Model factory: random weights, local checkpoints, offline failure, text encoding."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")

from tiny_clip import write_tiny_config

from bliss_core.embed.models import (
    PAPER_MEAN,
    PAPER_STD,
    ModelLoadError,
    encode_images,
    encode_texts,
    load_model,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_cfg(tmp_path_factory) -> Path:
    return write_tiny_config(tmp_path_factory.mktemp("cfg"))


def test_random_model_is_labelled_untrained(tiny_cfg, capsys):
    lm = load_model(str(tiny_cfg), "random", device="cpu")
    assert "RANDOM weights" in capsys.readouterr().err
    assert lm.untrained and lm.meta["untrained"] is True and lm.meta["pretrained"] == "random"
    assert lm.meta["model"] == "bliss-tiny-test" and lm.device == "cpu" and lm.autocast_dtype is None
    assert lm.meta["preprocessing"]["mode"] == "model"
    again = load_model(str(tiny_cfg), "random", device="cpu")
    assert again.meta["weights_id"] == lm.meta["weights_id"]  # fixed seed: the cache stays valid
    emb = encode_texts(lm, ["cat", "dog", "great white shark"], "a photo of a {}")
    assert emb.dtype == np.float32 and emb.shape == (3, 32)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)


def test_trimmed_text_encoding_matches_open_clip(tiny_cfg):
    lm = load_model(str(tiny_cfg), "random", device="cpu")
    prompts = ["This is a photo of a cat", "This is a photo of a Carcharodon carcharias", "x"]
    ours = encode_texts(lm, prompts, "{}")
    with torch.inference_mode():
        ref = torch.nn.functional.normalize(lm.model.encode_text(lm.tokenizer(prompts)), dim=-1).numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_local_checkpoint_round_trip(tiny_cfg, tmp_path):
    torch.manual_seed(123)
    open_clip.add_model_config(str(tiny_cfg))
    ref = open_clip.create_model("bliss-tiny-test", pretrained=None).eval()
    plain = tmp_path / "weights.pt"
    torch.save(ref.state_dict(), plain)
    wrapped = tmp_path / "epoch_1.pt"  # open_clip training checkpoint format
    torch.save({"epoch": 1, "state_dict": {"module." + k: v for k, v in ref.state_dict().items()}}, wrapped)
    x = torch.rand(3, 3, 32, 32)
    with torch.inference_mode():
        want_img = torch.nn.functional.normalize(ref.encode_image(x), dim=-1).numpy()
        want_txt = torch.nn.functional.normalize(
            ref.encode_text(open_clip.tokenize(["a photo of a cat"])), dim=-1
        ).numpy()
    for path in (plain, wrapped):
        lm = load_model(str(tiny_cfg), str(path), device="cpu")
        assert lm.meta["untrained"] is False
        assert lm.meta["weights_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert lm.cache_identity()["weights"] == lm.meta["weights_sha256"]
        np.testing.assert_allclose(encode_images(lm, x), want_img, atol=1e-6)
        np.testing.assert_allclose(encode_texts(lm, ["cat"], "a photo of a {}"), want_txt, atol=1e-6)


def test_bad_inputs_raise_one_sentence(tiny_cfg, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        load_model(str(tiny_cfg), str(junk), device="cpu")
    with pytest.raises(ModelLoadError, match="unknown pretrained tag 'nope'"):
        load_model(str(tiny_cfg), "nope", device="cpu")
    with pytest.raises(ModelLoadError, match="no such weights file"):
        load_model(str(tiny_cfg), str(tmp_path / "missing.pt"), device="cpu")
    with pytest.raises(ModelLoadError, match="unknown model"):
        load_model("ViT-Nope-1", "random", device="cpu")
    with pytest.raises(ModelLoadError, match="preprocessing"):
        load_model(str(tiny_cfg), "random", preprocess="imagenet")
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="no CUDA GPU"):
            load_model(str(tiny_cfg), "random", device="cuda")


def test_paper_preprocessing(tiny_cfg):
    lm = load_model(str(tiny_cfg), "random", device="cpu", preprocess="paper")
    pp = lm.meta["preprocessing"]
    assert pp["mode"] == "paper"
    assert tuple(pp["mean"]) == PAPER_MEAN and tuple(pp["std"]) == PAPER_STD
    default = load_model(str(tiny_cfg), "random", device="cpu")
    assert lm.cache_identity() != default.cache_identity()


@pytest.mark.slow
def test_offline_without_cached_weights_fails_fast(tmp_path):
    """With no cached weights and no hub, load_model fails in seconds with one clear sentence.

    Case 1: HF_HUB_OFFLINE=1. Case 2: no offline flag, the hub unreachable (.invalid never
    resolves), so the connectivity probe must give up quickly instead of retrying downloads.
    """
    code = textwrap.dedent(
        """
        import os, sys, time
        import open_clip  # import time is not what this test measures
        from bliss_core.embed.models import load_model, ModelLoadError
        for case in ("offline-flag", "unreachable"):
            if case == "unreachable":
                os.environ.pop("HF_HUB_OFFLINE")
                os.environ["HF_ENDPOINT"] = "https://hub.invalid"
            t = time.perf_counter()
            try:
                load_model("ViT-B-32", "openai", device="cpu")
                print("loaded?!")
            except ModelLoadError as exc:
                print(f"{time.perf_counter() - t:.2f}|{exc}")
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(
        HOME=str(tmp_path),
        HF_HOME=str(tmp_path / "hf"),
        XDG_CACHE_HOME=str(tmp_path / "xdg"),
        PYTHONPATH=str(REPO),
        HF_HUB_OFFLINE="1",
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2, proc.stdout + proc.stderr
    for line in lines:
        secs, msg = line.split("|", 1)
        assert float(secs) < 10
        assert "not cached" in msg and "--pretrained /path/to/weights" in msg and "HF_HOME" in msg
        assert msg.count(". ") == 0 and msg.endswith(".")
