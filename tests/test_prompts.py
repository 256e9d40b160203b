"""Prompt ensembles (``--prompt openai-imagenet|simple-imagenet``): names resolve to open_clip's
templates, a text's embedding is the normalised mean of its per-template embeddings (checked
against open_clip's own encoder), every (template, text) is cached, and progress is reported."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("open_clip")

import open_clip
import torch
from tiny_clip import write_tiny_config
from tiny_hf import write_image_folder

from bliss_core.core.bundle import load_bundle
from bliss_core.embed.cache import EmbeddingCache
from bliss_core.embed.models import encode_texts, load_model
from bliss_core.embed.pipeline import embed_dataset
from bliss_core.embed.prompts import ensemble_mean, ensemble_templates, resolve_prompt
from bliss_core.errors import EmbedError

WORDS = ["goldfish", "tower", "ship"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("prompts")
    cfg = write_tiny_config(root / "cfg")
    return {
        "root": root,
        "images": write_image_folder(root / "imgs"),
        "loaded": load_model(str(cfg), "random", device="cpu"),
    }


def test_names_resolve_to_open_clip_templates():
    from open_clip import zero_shot_metadata as z

    openai = resolve_prompt("openai-imagenet")
    assert openai.name == "openai-imagenet" and openai.is_ensemble and len(openai.templates) == 80
    assert list(openai.templates) == [f("{}") for f in z.OPENAI_IMAGENET_TEMPLATES]
    assert openai.templates[0] == "a bad photo of a {}."
    simple = resolve_prompt(" Simple-ImageNet ")
    assert list(simple.templates) == [f("{}") for f in z.SIMPLE_IMAGENET_TEMPLATES]
    one = resolve_prompt("a sketch of a {}")
    assert one.templates == ("a sketch of a {}",) and not one.is_ensemble
    with pytest.raises(EmbedError, match="no {} placeholder"):
        resolve_prompt("a photo")
    assert ensemble_templates("simple-imagenet") == list(simple.templates)


def test_ensemble_mean_by_hand():
    a = np.array([[3.0, 4.0], [0.0, 2.0]])  # two texts under template 1
    b = np.array([[1.0, 0.0], [1.0, 1.0]])  # ... under template 2
    got = ensemble_mean(np.stack([a, b]))
    for row, (u, v) in enumerate([([0.6, 0.8], [1.0, 0.0]), ([0.0, 1.0], [2**-0.5, 2**-0.5])]):
        mean = (np.array(u) + np.array(v)) / 2
        np.testing.assert_allclose(got[row], mean / np.linalg.norm(mean), rtol=1e-6)
    np.testing.assert_array_equal(
        ensemble_mean(a[None].astype(np.float32)), a.astype(np.float32)
    )  # one template
    from bliss_core.errors import BlissError

    with pytest.raises(BlissError, match="zero length"):  # opposite directions average to nothing
        ensemble_mean(np.array([[[0.0, 1.0]], [[0.0, -1.0]]]))


def _open_clip_ensemble(loaded, names, templates):
    """The independent path: open_clip's tokenizer and encode_text, normalised, averaged, normalised."""
    tok = open_clip.get_tokenizer(loaded.name)
    out = []
    with torch.no_grad():
        for name in names:
            feats = loaded.model.encode_text(tok([t.replace("{}", name) for t in templates])).float()
            feats = feats / feats.norm(dim=-1, keepdim=True)
            mean = feats.mean(dim=0)
            out.append((mean / mean.norm()).numpy())
    return np.stack(out)


def test_ensemble_embedding_is_the_normalised_mean(env, tmp_path):
    events = []
    bundle, report = embed_dataset(
        f"folder:{env['images']}",
        out=tmp_path / "b.npz",
        dictionary=WORDS,
        prompt="simple-imagenet",
        device="cpu",
        cache_dir=tmp_path / "cache",
        loaded=env["loaded"],
        progress=events.append,
    )
    templates = resolve_prompt("simple-imagenet").templates
    expected = _open_clip_ensemble(env["loaded"], bundle.class_names + WORDS, templates)
    np.testing.assert_allclose(np.vstack([bundle.class_text_emb, bundle.dict_text_emb]), expected, atol=1e-5)
    saved = load_bundle(tmp_path / "b.npz")
    assert saved.meta["prompt"] == "simple-imagenet" and saved.meta["prompt_templates"] == len(templates)
    texts = [e for e in events if e.stage == "texts"]
    assert texts[-1].done == texts[-1].total == 5 * len(templates)
    assert report.n_texts_computed == 5 * len(templates)
    # the library path the app uses gives the same rows
    np.testing.assert_allclose(
        encode_texts(env["loaded"], WORDS, template="simple-imagenet"), bundle.dict_text_emb, atol=1e-6
    )


def test_every_template_text_pair_is_cached_so_a_run_resumes(env, tmp_path):
    templates = resolve_prompt("simple-imagenet").templates
    cache = tmp_path / "cache"
    # a run with the first template alone leaves its texts in the cache, as an interrupted
    # ensemble run leaves the batches it finished
    _, first = embed_dataset(
        f"folder:{env['images']}",
        dictionary=WORDS,
        prompt=templates[0],
        device="cpu",
        cache_dir=cache,
        loaded=env["loaded"],
    )
    assert first.n_texts_computed == 5
    _, ens = embed_dataset(
        f"folder:{env['images']}",
        dictionary=WORDS,
        prompt="simple-imagenet",
        device="cpu",
        cache_dir=cache,
        loaded=env["loaded"],
    )
    assert ens.n_texts_computed == 5 * (len(templates) - 1)
    _, again = embed_dataset(
        f"folder:{env['images']}",
        dictionary=WORDS,
        prompt="simple-imagenet",
        device="cpu",
        cache_dir=cache,
        loaded=env["loaded"],
    )
    assert again.n_texts_computed == 0 and again.n_computed == 0
    c = EmbeddingCache(env["loaded"].cache_identity(), cache)
    assert (
        len(
            c.missing(
                [
                    hashlib.sha256(("text\0" + t.replace("{}", "ship")).encode()).hexdigest()
                    for t in templates
                ],
                kind="text",
            )
        )
        == 0
    )


def test_cli_prompt_ensemble(env, tmp_path, capsys):
    from bliss_core.cli import main

    cfg = write_tiny_config(tmp_path / "cfg")
    words = tmp_path / "w.txt"
    words.write_text("\n".join(WORDS))
    args = [
        "embed",
        "--data",
        f"folder:{env['images']}",
        "--model",
        str(cfg),
        "--pretrained",
        "random",
        "--dictionary",
        str(words),
        "--cache-dir",
        str(tmp_path / "c"),
        "--device",
        "cpu",
    ]
    assert main(args + ["--prompt", "openai-imagenet", "--out", str(tmp_path / "e.npz")]) == 0
    err = capsys.readouterr().err
    assert "texts: 100.0% 400/400" in err  # 5 texts x 80 templates
    assert load_bundle(tmp_path / "e.npz").meta["prompt_templates"] == 80
    assert main(args + ["--prompt", "a photo", "--out", str(tmp_path / "f.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bliss: error: ") and "placeholder" in err and err.count("\n") == 1
