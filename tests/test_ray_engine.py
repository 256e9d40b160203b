"""``bliss embed --engine ray`` on a local Ray (``ray.init(num_cpus=2)``, one session for the
module): the same bundle as the local engine, resumable through the same cache, and a one-line
error where Ray is not installed."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("open_clip")

from test_embed import make_folder, make_zip
from tiny_clip import write_tiny_config

from bliss_core.cli import main as cli_main
from bliss_core.core.bundle import load_bundle
from bliss_core.embed.pipeline import embed_dataset

WORDS = ["cat", "dog", "tower", "ship", "goldfish", "truck"]


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A tiny folder (with a broken file and a stray text file), a zip, a dictionary and a
    checkpoint file of the tiny open_clip architecture (random weights, saved as a file)."""
    import open_clip
    import torch

    root = tmp_path_factory.mktemp("ray")
    cfg = write_tiny_config(root / "cfg")
    open_clip.add_model_config(str(cfg))
    torch.manual_seed(7)
    ckpt = root / "tiny.pt"
    torch.save(open_clip.create_model("bliss-tiny-test", pretrained=None).state_dict(), ckpt)
    words = root / "words.txt"
    words.write_text("\n".join(WORDS) + "\n")
    folder = make_folder(root / "ds", n_per=5, classes=("cat", "dog", "ship"), seed=3)
    return {
        "cfg": str(cfg),
        "ckpt": str(ckpt),
        "words": str(words),
        "folder": folder,
        "zip": make_zip(root / "tiny.zip"),
        "root": root,
    }


def _kw(env, cache):
    return dict(
        model=env["cfg"],
        pretrained=env["ckpt"],
        dictionary=env["words"],
        device="cpu",
        batch_size=4,
        cache_dir=cache,
    )


@pytest.mark.slow
def test_ray_bundle_equals_local_bundle_and_resumes(ray_session, env, tmp_path):
    from bliss_core.scale.ray_engine import RayEngine

    local, rep_local = embed_dataset(
        f"folder:{env['folder']}", out=tmp_path / "local.npz", **_kw(env, tmp_path / "c1")
    )
    events = []
    engine = RayEngine(workers=1)
    remote, rep_ray = embed_dataset(
        f"folder:{env['folder']}",
        out=tmp_path / "ray.npz",
        engine=engine,
        progress=events.append,
        **_kw(env, tmp_path / "c2"),
    )
    assert rep_local.n_computed == rep_ray.n_computed == 30
    assert remote.meta["engine"] == "ray" and local.meta["engine"] == "local"
    assert remote.meta["untrained"] is False and remote.meta["weights_sha256"] == local.meta["weights_sha256"]
    assert remote.image_id == local.image_id and remote.class_names == local.class_names
    assert np.array_equal(remote.image_label, local.image_label)
    assert np.array_equal(remote.image_is_train, local.image_is_train)
    np.testing.assert_allclose(remote.image_emb, local.image_emb, atol=1e-5)
    np.testing.assert_allclose(remote.dict_text_emb, local.dict_text_emb, atol=1e-6)
    assert dict(rep_ray.skipped) == dict(rep_local.skipped) and "train/cat/broken.jpg" in dict(
        rep_ray.skipped
    )
    image_events = [e for e in events if e.stage == "images"]
    assert (
        image_events and image_events[-1].done == image_events[-1].total == 31
    )  # 30 images + the broken one
    on_disk = load_bundle(tmp_path / "ray.npz")
    assert on_disk.meta["engine"] == "ray" and on_disk.image_id == local.image_id

    # resume: the same cache, nothing left to compute (Ray is not even asked)
    again, rep_again = embed_dataset(
        f"folder:{env['folder']}", engine=RayEngine(workers=1), **_kw(env, tmp_path / "c2")
    )
    assert rep_again.n_computed == 0 and rep_again.n_from_cache == 30
    assert np.array_equal(again.image_emb, remote.image_emb)
    # the caches are interchangeable: the local engine resumes from what Ray wrote
    _, rep_cross = embed_dataset(f"folder:{env['folder']}", **_kw(env, tmp_path / "c2"))
    assert rep_cross.n_computed == 0


@pytest.mark.slow
def test_ray_cli_two_workers_partial_cache(ray_session, env, tmp_path, capsys):
    """Half the images cached by a local run with a per-class limit; the Ray run computes the rest."""
    cache = tmp_path / "cache"
    embed_dataset(f"zip:{env['zip']}", per_class_limit=1, **_kw(env, cache))
    out = tmp_path / "z.npz"
    rc = cli_main(
        [
            "embed",
            "--data",
            f"zip:{env['zip']}",
            "--model",
            env["cfg"],
            "--pretrained",
            env["ckpt"],
            "--dictionary",
            env["words"],
            "--cache-dir",
            str(cache),
            "--device",
            "cpu",
            "--batch-size",
            "2",
            "--engine",
            "ray",
            "--workers",
            "2",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "images:" in err and "4 images computed, 4 from cache" in err
    ray_bundle = load_bundle(out)
    local, _ = embed_dataset(f"zip:{env['zip']}", **_kw(env, tmp_path / "fresh"))
    assert ray_bundle.meta["engine"] == "ray" and ray_bundle.image_id == local.image_id
    np.testing.assert_allclose(ray_bundle.image_emb, local.image_emb, atol=1e-5)


def test_without_ray_one_line_naming_the_extra(env, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    monkeypatch.setitem(sys.modules, "ray.data", None)
    rc = cli_main(
        [
            "embed",
            "--data",
            f"folder:{env['folder']}",
            "--model",
            env["cfg"],
            "--pretrained",
            "random",
            "--dictionary",
            env["words"],
            "--engine",
            "ray",
            "--out",
            str(tmp_path / "x.npz"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith("bliss: error:") and "pip install bliss-lab[ray]" in err


def test_ray_flags_need_the_ray_engine(env, tmp_path, capsys):
    rc = cli_main(
        [
            "embed",
            "--data",
            f"folder:{env['folder']}",
            "--model",
            env["cfg"],
            "--pretrained",
            "random",
            "--ray-address",
            "auto",
            "--out",
            str(tmp_path / "x.npz"),
        ]
    )
    assert rc == 2 and "go with --engine ray" in capsys.readouterr().err


def test_ray_engine_needs_a_source_it_can_reopen(env):
    pytest.importorskip("ray")
    from bliss_core.embed.sources import open_source
    from bliss_core.errors import EngineError
    from bliss_core.scale.ray_engine import RayEngine

    with open_source(f"folder:{env['folder']}") as src, pytest.raises(EngineError, match="reopen"):
        embed_dataset(src, engine=RayEngine(), **_kw(env, env["root"] / "c-src"))
