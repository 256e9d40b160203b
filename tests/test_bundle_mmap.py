"""Memory-mapped bundles: the same numbers as bundles read into memory, and the same one-sentence
refusals for hostile files."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from conftest import random_bundle
from test_bundle import HOSTILE, _arrays, _write

from bliss_core import evaluate, make_simulated_bundle
from bliss_core.cli import main
from bliss_core.core.bundle import BundleError, load_bundle, save_bundle


@pytest.fixture(scope="module")
def sim():
    return make_simulated_bundle(seed=2, train_per_class=60, test_per_class=30, dim=32, n_dict=90)


@pytest.mark.parametrize("float16", [False, True])
def test_mapped_equals_read(tmp_path, sim, float16):
    path = save_bundle(sim, tmp_path / "b.npz", float16=float16)
    read = load_bundle(path, mmap=False)
    mapped = load_bundle(path, mmap=True)
    assert mapped.mapped and not read.mapped
    assert isinstance(mapped.image_emb, np.memmap) and not mapped.image_emb.flags.writeable
    assert mapped.image_emb.dtype == (np.float16 if float16 else np.float32)
    np.testing.assert_allclose(
        np.asarray(mapped.image_emb, np.float32), read.image_emb, atol=1e-3 if float16 else 1e-7
    )
    assert mapped.image_id == read.image_id and mapped.meta == read.meta
    splits = [[0], [1, 2], [3, 4, 5, 6]]
    for method in ("bliss", "knn", "maxsim"):
        a = evaluate(read, splits, lams=[0, 0.5], topks=[3, 10], method=method)
        b = evaluate(mapped, splits, lams=[0, 0.5], topks=[3, 10], method=method)
        assert a == b  # rows are normalised block by block exactly as the loader normalises them


def test_mapping_is_automatic_for_large_embeddings(tmp_path, sim, monkeypatch):
    path = save_bundle(sim, tmp_path / "b.npz", float16=True)
    assert not load_bundle(path).mapped
    monkeypatch.setenv("BLISS_MMAP_MB", "0.01")
    assert load_bundle(path).mapped
    # an upload held in memory is always read
    buf = io.BytesIO(path.read_bytes())
    buf.name = "upload.npz"
    assert not load_bundle(buf).mapped


def test_compressed_bundle_is_read_not_mapped(tmp_path):
    b = random_bundle()
    path = tmp_path / "c.npz"
    np.savez_compressed(path, **_arrays(b))
    loaded = load_bundle(path, mmap=True)
    assert not loaded.mapped
    np.testing.assert_allclose(np.linalg.norm(loaded.image_emb, axis=1), 1, atol=1e-5)


def test_rows_that_are_not_unit_length_are_normalised_into_memory(tmp_path):
    b = random_bundle()
    path = tmp_path / "raw.npz"
    arrays = _arrays(b)
    arrays["image_emb"] = (np.asarray(b.image_emb) * 7.0).astype(np.float32)
    np.savez(path, **arrays)
    loaded = load_bundle(path, mmap=True)
    assert not loaded.mapped
    np.testing.assert_allclose(loaded.image_emb, b.image_emb, atol=1e-6)


def test_mapped_rows_checked_block_by_block(tmp_path, monkeypatch):
    from bliss_core.core import bundle as B

    monkeypatch.setattr(B, "MAPPED_CHECK_ROWS", 7)
    b = random_bundle()
    emb = np.asarray(b.image_emb).copy()
    emb[45] = 0.0
    path = _write(tmp_path / "zero.npz", image_emb=emb)
    with pytest.raises(BundleError, match=r"image_emb row 45 has zero length") as info:
        load_bundle(path, mmap=True)
    assert str(path) in str(info.value)
    emb = np.asarray(b.image_emb).copy()
    emb[60, 3] = np.inf
    with pytest.raises(BundleError, match="NaN or infinite"):
        load_bundle(_write(tmp_path / "inf.npz", image_emb=emb), mmap=True)


def test_truncated_mapped_member_is_refused(tmp_path, sim):
    path = save_bundle(sim, tmp_path / "b.npz")
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("image_emb.npy")
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: info.header_offset + 200])  # the central directory is gone too
    with pytest.raises(BundleError):
        load_bundle(cut, mmap=True)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_bundles_mapped(tmp_path, case):
    changes, match = HOSTILE[case]
    path = _write(tmp_path / "bad.npz", **changes)
    with pytest.raises(BundleError, match=match) as info:
        load_bundle(path, mmap=True)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_cli_evaluates_a_mapped_bundle(tmp_path, sim, monkeypatch, capsys):
    path = save_bundle(sim, tmp_path / "b.npz", float16=True)
    argv = ["evaluate", "--bundle", str(path), "--setup", "6", "--json"]
    assert main(argv) == 0
    read = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("BLISS_MMAP_MB", "0.01")
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == read
