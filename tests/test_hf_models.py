"""``--model hf:DIR``: tiny random CLIP, SigLIP and BLIP retrieval models written with
save_pretrained, embedded end to end offline and checked against the models' own forward pass."""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch
from tiny_clip import write_tiny_config
from tiny_hf import write_image_folder, write_tiny_hf

from bliss_core.cli import main
from bliss_core.core.bundle import load_bundle
from bliss_core.embed.cache import identity_hash
from bliss_core.embed.models import load_model
from bliss_core.errors import ModelLoadError

WORDS = ["goldfish", "tower", "ship", "truck"]
DIMS = {"clip": 24, "siglip": 32, "blip": 24}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    words = root / "words.txt"
    words.write_text("\n".join(WORDS) + "\n")
    return {
        "root": root,
        "images": write_image_folder(root / "imgs"),
        "words": str(words),
        "models": {k: write_tiny_hf(root / k, k) for k in DIMS},
    }


def _embed(env, kind_or_dir, out, cache, *extra: str) -> int:
    model = env["models"].get(kind_or_dir, kind_or_dir)
    return main(
        [
            "embed",
            "--data",
            f"folder:{env['images']}",
            "--model",
            f"hf:{model}",
            "--dictionary",
            env["words"],
            "--cache-dir",
            str(cache),
            "--device",
            "cpu",
            "--out",
            str(out),
            *extra,
        ]
    )


def _cosines_from_forward(kind: str, folder, root, bundle) -> np.ndarray:
    """Image x class-text cosine similarities from the model's own forward pass (independent of bliss)."""
    import transformers as T
    from PIL import Image

    cls = {"clip": T.CLIPModel, "siglip": T.SiglipModel, "blip": T.BlipForImageTextRetrieval}[kind]
    model = cls.from_pretrained(folder).eval()
    tok = T.AutoTokenizer.from_pretrained(folder)
    proc = T.AutoImageProcessor.from_pretrained(folder)
    images = [Image.open(root / p).convert("RGB") for p in bundle.image_id]
    pixels = proc(images=images, return_tensors="pt")["pixel_values"]
    prompts = [f"This is a photo of a {c}" for c in bundle.class_names]
    with torch.no_grad():
        if kind == "siglip":
            ids = tok(prompts, padding="max_length", max_length=16, return_tensors="pt")["input_ids"]
            out = model(input_ids=ids, pixel_values=pixels)
            return ((out.logits_per_image - model.logit_bias) / model.logit_scale.exp()).numpy()
        enc = tok(prompts, padding=True, return_tensors="pt")
        if kind == "clip":
            out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], pixel_values=pixels)
            return (out.logits_per_image / model.logit_scale.exp()).numpy()
        rows = []
        for i in range(len(images)):  # BLIP's ITC scores: one image against every prompt
            out = model(
                input_ids=enc["input_ids"],
                attention_mask=enc["attention_mask"],
                pixel_values=pixels[i : i + 1].expand(len(prompts), -1, -1, -1),
                use_itm_head=False,
            )
            rows.append(out.itm_score[0].numpy())
        return np.stack(rows)


@pytest.mark.parametrize("kind", ["clip", "siglip", "blip"])
def test_bliss_embed_hf_model_end_to_end(env, tmp_path, capsys, kind):
    out = tmp_path / f"{kind}.npz"
    assert _embed(env, kind, out, tmp_path / "cache") == 0
    err = capsys.readouterr().err
    assert "UNTRAINED" in err
    b = load_bundle(out)
    assert b.dim == DIMS[kind] and b.image_emb.shape[0] == 8 and b.class_names == ["cat", "dog"]
    assert b.dict_names == WORDS and b.untrained
    assert b.meta["backend"] == "hf" and b.meta["model"] == f"hf:{env['models'][kind]}"
    assert b.meta["pretrained"] == kind and len(b.meta["weights_sha256"]) == 64
    np.testing.assert_allclose(np.linalg.norm(b.image_emb, axis=1), 1, atol=1e-5)
    ours = b.image_emb @ b.class_text_emb.T
    np.testing.assert_allclose(
        ours, _cosines_from_forward(kind, env["models"][kind], env["images"], b), atol=2e-5
    )
    # the bundle is usable without a model, and a rerun comes from the cache
    assert main(["evaluate", "--bundle", str(out), "--setup", "1", "--topk", "2", "--json"]) == 0
    assert 0 <= json.loads(capsys.readouterr().out)["auroc_mean"] <= 1
    assert _embed(env, kind, tmp_path / "again.npz", tmp_path / "cache") == 0
    assert "0 images computed, 8 from cache" in capsys.readouterr().err


def test_hf_cache_identity_differs_from_open_clip(env, tmp_path):
    hf = load_model(f"hf:{env['models']['clip']}", device="cpu")
    oc = load_model(str(write_tiny_config(tmp_path / "cfg")), "random", device="cpu")
    assert hf.cache_identity()["backend"] == "hf" and oc.cache_identity()["backend"] == "open_clip"
    assert identity_hash(hf.cache_identity()) != identity_hash(oc.cache_identity())
    other = load_model(f"hf:{env['models']['siglip']}", device="cpu")
    assert identity_hash(other.cache_identity()) != identity_hash(hf.cache_identity())
    paper = load_model(f"hf:{env['models']['clip']}", device="cpu", preprocess="paper")
    assert paper.cache_identity() != hf.cache_identity()
    assert hf.embed_dim == 24 and hf.meta["untrained"] is True


def test_random_weights_and_missing_weights_are_untrained(env, tmp_path, capsys):
    rnd = load_model(f"hf:{env['models']['blip']}", "random", device="cpu")
    assert (
        rnd.untrained and rnd.meta["pretrained"] == "random" and rnd.meta["weights_id"].startswith("random:")
    )
    # a checkpoint without the bliss_untrained marker but lacking a projection: transformers
    # initialises it at random, and bliss says so
    from safetensors.torch import load_file, save_file

    folder = write_tiny_hf(tmp_path / "partial", "clip")
    cfg = json.loads((folder / "config.json").read_text())
    cfg.pop("bliss_untrained")
    (folder / "config.json").write_text(json.dumps(cfg))
    full = load_model(f"hf:{folder}", device="cpu")
    assert not full.untrained  # complete weights, no marker: nothing says they are random
    weights = load_file(folder / "model.safetensors")
    weights.pop("visual_projection.weight")
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    capsys.readouterr()
    partial = load_model(f"hf:{folder}", device="cpu")
    assert partial.untrained and partial.meta["missing_weights"] == 1
    assert "initialised at random" in capsys.readouterr().err


def test_without_transformers_the_error_names_the_extra(env, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # `import transformers` raises ImportError
    assert _embed(env, "hf-anything", tmp_path / "x.npz", tmp_path / "cache") == 2
    err = capsys.readouterr().err
    assert err.startswith("bliss: error: ") and err.count("\n") == 1
    assert "pip install bliss-lab[hf]" in err and "transformers" in err


def test_hub_id_offline_fails_fast_in_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.monotonic()
    with pytest.raises(ModelLoadError, match="not in the Hugging Face cache and the hub cannot be reached"):
        load_model("hf:someone/clip-not-cached", device="cpu")
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize(
    "ref, pretrained, message",
    [
        ("", None, "needs a model id or a local folder"),
        ("/no/such/folder", None, "no such model folder"),
        ("FILE", None, "is a file"),
        ("BERT", None, "'bert' model"),
        ("CLIP", "laion2b", "does not apply to hf: models"),
    ],
)
def test_bad_references_raise_one_sentence(env, tmp_path, ref, pretrained, message):
    if ref == "FILE":
        ref = str(env["words"])
    elif ref == "BERT":
        import transformers as T

        T.BertConfig(
            vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8
        ).save_pretrained(tmp_path / "bert")
        ref = str(tmp_path / "bert")
    elif ref == "CLIP":
        ref = str(env["models"]["clip"])
    with pytest.raises(ModelLoadError, match=message) as info:
        load_model(f"hf:{ref}", pretrained, device="cpu")
    assert "\n" not in str(info.value)
