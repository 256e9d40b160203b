"""``bliss embed`` end to end: API and subprocess, cache reuse, concurrency, kill and resume."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")
pytest.importorskip("open_clip")

from tiny_clip import write_tiny_config

from bliss_core.cli import main as cli_main
from bliss_core.core.bundle import load_bundle
from bliss_core.embed.pipeline import embed_dataset

REPO = Path(__file__).resolve().parents[1]
CIFAR10_ZIP = Path(os.environ.get("BLISS_SHARED_DATA", REPO.parent / "shared" / "data")) / "cifar10.zip"
WORDS = ["cat", "dog", "airplane", "goldfish", "tower"]


def _jpeg(rng: np.random.Generator, size=(24, 24)) -> bytes:
    arr = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def make_folder(root: Path, n_per: int = 3, classes=("cat", "dog"), seed: int = 0, bad: bool = True) -> Path:
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for c in classes:
            d = root / split / c
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n_per):
                (d / f"{i:03d}.jpg").write_bytes(_jpeg(rng))
    if bad:
        (root / "train" / classes[0] / "broken.jpg").write_bytes(b"this is not an image")
        (root / "test" / classes[1] / "notes.txt").write_text("ignored")
    return root


def make_zip(path: Path, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w") as zf:
        for split in ("train", "test"):
            for c in ("ship", "truck"):
                for i in range(2):
                    zf.writestr(f"tiny/{split}/{c}/{i}.jpg", _jpeg(rng))
        zf.writestr("tiny/test/truck/empty.jpg", b"")
        zf.writestr("../outside.jpg", _jpeg(rng))
    return path


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("embed")
    cfg = write_tiny_config(root / "cfg")
    words = root / "words.txt"
    words.write_text("\n".join(WORDS) + "\n")
    return {"root": root, "cfg": str(cfg), "words": str(words)}


def _cli(
    env, *args: str, cache: Path, extra_env: dict | None = None, wait: bool = True, script: str | None = None
):
    cmd = [sys.executable]
    cmd += ["-c", script] if script else ["-m", "bliss_core"]
    cmd += [
        "embed",
        "--model",
        env["cfg"],
        "--pretrained",
        "random",
        "--dictionary",
        env["words"],
        "--cache-dir",
        str(cache),
        "--device",
        "cpu",
        *args,
    ]
    e = dict(os.environ, PYTHONPATH=str(REPO), **(extra_env or {}))
    if not wait:
        return subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e, cwd=REPO
        )
    return subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=REPO, timeout=240)


def _computed(stderr: str) -> int:
    line = [ln for ln in stderr.splitlines() if ln.startswith("bliss: wrote")][-1]
    return int(line.split(" images computed")[0].rsplit(" ", 1)[1])


def _image_shards(cache: Path) -> list[Path]:
    return sorted(cache.glob("*/shards/image-*.bshard"))


# -- API -------------------------------------------------------------------------------------
def test_api_folder_cache_and_corruption(env, tmp_path):
    data = make_folder(tmp_path / "ds")
    cache = tmp_path / "cache"
    events = []
    kw = dict(
        model=env["cfg"],
        pretrained="random",
        dictionary=env["words"],
        device="cpu",
        batch_size=4,
        cache_dir=cache,
        progress=events.append,
    )
    b1, r1 = embed_dataset(f"folder:{data}", out=tmp_path / "b1.npz", **kw)
    assert b1.meta["untrained"] is True and b1.untrained
    assert b1.class_names == ["cat", "dog"] and b1.dict_names == WORDS
    assert b1.image_emb.shape == (12, 32) and int(b1.image_is_train.sum()) == 6
    assert r1.n_computed == 12 and r1.n_from_cache == 0
    assert ("train/cat/broken.jpg" in dict(r1.skipped)) and ("test/dog/notes.txt" in dict(r1.skipped))
    assert {s["file"] for s in b1.meta["skipped"]} >= {"train/cat/broken.jpg", "test/dog/notes.txt"}
    for key in ("model", "pretrained", "prompt", "dataset", "preprocessing", "created_utc", "weights_id"):
        assert key in b1.meta
    assert b1.meta["created_utc"].endswith("Z") and b1.meta["prompt"] == "This is a photo of a {}"
    assert {e.stage for e in events} >= {"hashing", "images", "texts"} and events[-1].done == events[-1].total
    loaded = load_bundle(tmp_path / "b1.npz")
    np.testing.assert_allclose(loaded.image_emb, b1.image_emb, atol=1e-6)
    assert loaded.image_id == b1.image_id

    t = time.perf_counter()
    b2, r2 = embed_dataset(f"folder:{data}", out=tmp_path / "b2.npz", **kw)
    rerun_s = time.perf_counter() - t
    assert r2.n_computed == 0 and r2.n_from_cache == 12 and r2.n_texts_computed == 0
    assert np.array_equal(b2.image_emb, b1.image_emb) and np.array_equal(b2.dict_text_emb, b1.dict_text_emb)
    assert rerun_s < 5 + r1.seconds["total"]  # no model work; model construction dominates

    shard = _image_shards(cache)[0]
    shard.write_bytes(shard.read_bytes()[:-7])  # truncate one cache entry
    b3, r3 = embed_dataset(f"folder:{data}", out=tmp_path / "b3.npz", **kw)
    assert r3.corrupt_cache_shards == 1 and 0 < r3.n_computed <= 4
    np.testing.assert_allclose(b3.image_emb, b1.image_emb, atol=1e-6)


def test_api_paper_preprocessing_and_limit(env, tmp_path):
    data = make_folder(tmp_path / "ds", n_per=4, bad=False)
    b, r = embed_dataset(
        f"folder:{data}",
        model=env["cfg"],
        pretrained="random",
        dictionary=WORDS,
        device="cpu",
        per_class_limit=2,
        preprocess="paper",
        cache_dir=tmp_path / "c",
    )
    assert b.image_emb.shape[0] == 8 and b.meta["preprocessing"]["mode"] == "paper"
    assert b.meta["dictionary"] == "list of 5 entries" and r.out is None


# -- command line ------------------------------------------------------------------------------
def test_cli_errors_are_one_line(env, tmp_path, capsys):
    cases = [
        ["--data", "folder:/no/such/dir", "--out", str(tmp_path / "x.npz")],
        ["--data", f"folder:{tmp_path}", "--out", str(tmp_path / "x.txt")],
        ["--data", "cifar10", "--out", str(tmp_path / "x.npz"), "--batch-size", "0"],
    ]
    for extra in cases:
        rc = cli_main(
            ["embed", "--model", env["cfg"], "--pretrained", "random", "--dictionary", env["words"], *extra]
        )
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2
        assert len(err) == 1 and err[0].startswith("bliss: error: ") and "Traceback" not in err[0]
    make_folder(tmp_path / "ds", n_per=1, bad=False)
    rc = cli_main(
        [
            "embed",
            "--data",
            f"folder:{tmp_path / 'ds'}",
            "--model",
            env["cfg"],
            "--pretrained",
            "nope",
            "--out",
            str(tmp_path / "x.npz"),
            "--dictionary",
            env["words"],
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("bliss: error: unknown pretrained tag 'nope'")


@pytest.mark.slow
def test_cli_zip_subprocess(env, tmp_path):
    z = make_zip(tmp_path / "tiny.zip")
    out = tmp_path / "z.npz"
    proc = _cli(env, "--data", f"zip:{z}", "--out", str(out), "--batch-size", "3", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    b = load_bundle(out)
    assert b.untrained and b.class_names == ["ship", "truck"] and b.image_emb.shape[0] == 8
    assert "skipped tiny/test/truck/empty.jpg: empty file" in proc.stderr
    assert "skipped ../outside.jpg" in proc.stderr and "UNTRAINED" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(not CIFAR10_ZIP.is_file(), reason="../shared/data/cifar10.zip not available")
def test_cli_cifar10_slice(env, tmp_path, capsys):
    """The real CIFAR-10 JPEG archive through the command line (in-process: the subprocess path is tested above)."""
    out = tmp_path / "c10.npz"
    rc = cli_main(
        [
            "embed",
            "--data",
            f"zip:{CIFAR10_ZIP}",
            "--out",
            str(out),
            "--per-class-limit",
            "3",
            "--batch-size",
            "16",
            "--model",
            env["cfg"],
            "--pretrained",
            "random",
            "--dictionary",
            env["words"],
            "--cache-dir",
            str(tmp_path / "cache"),
            "--device",
            "cpu",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "60 images computed" in err
    b = load_bundle(out)
    assert b.class_names[:3] == ["airplane", "automobile", "bird"] and len(b.class_names) == 10
    assert b.image_emb.shape == (60, 32) and int(b.image_is_train.sum()) == 30
    assert b.meta["untrained"] is True and b.meta["dataset"].startswith("zip:")
    assert b.image_id[0].startswith("cifar10/train/airplane/")


# -- concurrency, kill and resume -------------------------------------------------------------
@pytest.mark.slow
def test_three_processes_share_one_cache(env, tmp_path):
    data = make_folder(tmp_path / "ds", n_per=12, bad=False)  # 48 images
    ref, _ = embed_dataset(
        f"folder:{data}",
        model=env["cfg"],
        pretrained="random",
        dictionary=env["words"],
        device="cpu",
        batch_size=4,
        cache_dir=tmp_path / "ref-cache",
    )
    cache = tmp_path / "shared-cache"
    procs = [
        _cli(
            env,
            "--data",
            f"folder:{data}",
            "--out",
            str(tmp_path / f"p{i}.npz"),
            "--batch-size",
            "4",
            cache=cache,
            wait=False,
        )
        for i in range(3)
    ]
    results = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1] for r in results]
    computed = [_computed(err) for _, err in results]
    assert sum(computed) == 48  # the processes split the work; nothing was embedded twice
    keys = []
    from bliss_core.embed.cache import _decode_shard

    for shard in _image_shards(cache):
        keys += _decode_shard(shard.read_bytes())[1]
    assert len(keys) == len(set(keys)) == 48
    for i in range(3):
        b = load_bundle(tmp_path / f"p{i}.npz")
        assert b.image_id == ref.image_id
        np.testing.assert_allclose(b.image_emb, ref.image_emb, atol=1e-6)
        np.testing.assert_allclose(b.dict_text_emb, ref.dict_text_emb, atol=1e-6)


SLOW_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import bliss_core.embed.models as m
    _orig = m.encode_images
    def slow(loaded, batch):
        time.sleep(0.4)
        return _orig(loaded, batch)
    m.encode_images = slow
    from bliss_core.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.slow
def test_killed_run_resumes(env, tmp_path):
    data = make_folder(tmp_path / "ds", n_per=10, bad=False)  # 40 images, 10 batches of 4
    cache = tmp_path / "cache"
    proc = _cli(
        env,
        "--data",
        f"folder:{data}",
        "--out",
        str(tmp_path / "killed.npz"),
        "--batch-size",
        "4",
        cache=cache,
        wait=False,
        script=SLOW_SCRIPT,
    )
    deadline = time.monotonic() + 120
    while len(_image_shards(cache)) < 3:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the slowed run never wrote a batch"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert not (tmp_path / "killed.npz").exists()
    done_before = len(_image_shards(cache))
    assert done_before < 10
    kw = dict(model=env["cfg"], pretrained="random", dictionary=env["words"], device="cpu", batch_size=4)
    resumed, rep = embed_dataset(f"folder:{data}", cache_dir=cache, out=tmp_path / "resumed.npz", **kw)
    assert rep.n_computed == 40 - 4 * done_before and rep.n_from_cache == 4 * done_before
    fresh, rep_fresh = embed_dataset(f"folder:{data}", cache_dir=tmp_path / "fresh", **kw)
    assert rep_fresh.n_computed == 40
    assert resumed.image_id == fresh.image_id
    np.testing.assert_allclose(resumed.image_emb, fresh.image_emb, atol=1e-6)


# -- cache unit checks -------------------------------------------------------------------------
def test_cache_roundtrip_bitflip_and_locks(tmp_path):
    from bliss_core.embed.cache import EmbeddingCache

    ident = {"model": "m", "weights": "w", "preprocessing": {"mode": "model"}}
    c = EmbeddingCache(ident, tmp_path)
    keys = [f"{i:064x}" for i in range(5)]
    emb = np.random.default_rng(0).random((5, 8)).astype(np.float32)
    c.put(keys, emb)
    other = EmbeddingCache(ident, tmp_path)  # a second process sees the first one's work
    assert other.missing(keys) == [] and np.array_equal(other.get(keys[3]), emb[3])
    assert EmbeddingCache(dict(ident, weights="v"), tmp_path).missing(keys) == keys
    shard = next((c.dir / "shards").glob("*.bshard"))
    raw = bytearray(shard.read_bytes())
    raw[-3] ^= 0x40  # flip one bit of one embedding
    shard.write_bytes(bytes(raw))
    third = EmbeddingCache(ident, tmp_path)
    assert third.missing(keys) == keys and len(third.corrupt_shards) == 1 and not shard.exists()
    with c.lock("x") as got:
        assert got
        with other.lock("x", blocking=False) as got2:
            assert not got2
    with other.lock("x", blocking=False) as got3:
        assert got3


def test_stale_temp_files_are_cleaned(tmp_path):
    """A writer killed mid-write leaves `.<name>.XXXX.part` beside its target (files.atomic_write's
    naming); the next cache opened on that folder deletes it once it is old, and spares a fresh one."""
    import time

    from bliss_core.embed.cache import EmbeddingCache
    from bliss_core.files import atomic_write

    ident = {"model": "m", "weights": "w", "preprocessing": {"mode": "model"}}
    cache = EmbeddingCache(ident, tmp_path)
    target = cache.shard_dir / "image-x.bshard"

    class Killed(BaseException):
        pass

    with pytest.raises(Killed):  # a writer dies before its rename; atomic_write removes its temp file...
        with atomic_write(target) as fh:
            fh.write(b"half")
            raise Killed
    assert not list(cache.shard_dir.glob(".*.part"))
    # ...but SIGKILL gives it no chance: plant what such a writer leaves, old and fresh
    stale = cache.shard_dir / ".image-x.bshard.abc123.part"
    fresh = cache.shard_dir / ".image-y.bshard.def456.part"
    for p in (stale, fresh):
        p.write_bytes(b"partial shard")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    EmbeddingCache(ident, tmp_path)
    assert not stale.exists() and fresh.exists()
