"""The bundle format: round trip, atomic writes and one clear sentence for every bad file."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest
from conftest import random_bundle

from bliss_core.core.bundle import REQUIRED_KEYS, Bundle, BundleError, load_bundle, save_bundle


def _arrays(b: Bundle) -> dict:
    return {
        "image_emb": b.image_emb,
        "image_label": b.image_label,
        "image_is_train": b.image_is_train,
        "image_id": np.array(b.image_id),
        "class_names": np.array(b.class_names),
        "class_text_emb": b.class_text_emb,
        "dict_names": np.array(b.dict_names),
        "dict_text_emb": b.dict_text_emb,
        "meta": np.array(json.dumps(b.meta)),
    }


def _write(path, **changes):
    arrays = _arrays(random_bundle())
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez(path, **arrays)
    return path


def test_round_trip_normalises_and_keeps_everything(tmp_path):
    b = random_bundle()
    path = save_bundle(b, tmp_path / "b.npz")
    loaded = load_bundle(path)
    np.testing.assert_allclose(np.linalg.norm(loaded.image_emb, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(loaded.image_emb, b.image_emb, atol=1e-6)
    assert loaded.class_names == b.class_names and loaded.dict_names == b.dict_names
    assert loaded.image_id == b.image_id and loaded.meta == b.meta
    assert loaded.image_label.dtype == np.int64
    with np.load(path, allow_pickle=False) as npz:
        assert set(npz.files) == set(REQUIRED_KEYS) | {"image_id"}


def test_float16_bundle_loads(tmp_path):
    b = random_bundle()
    loaded = load_bundle(save_bundle(b, tmp_path / "h.npz", float16=True))
    np.testing.assert_allclose(loaded.image_emb, b.image_emb, atol=2e-3)


def test_save_is_atomic_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "b.npz"
    save_bundle(random_bundle(seed=1), target)
    before = target.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        save_bundle(random_bundle(seed=2), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["b.npz"]


HOSTILE = {
    "missing key": (dict(dict_names=None), "missing required key"),
    "extra key": (dict(surprise=np.zeros(3)), "unexpected key"),
    "pickled": (dict(class_names=np.array([{"a": 1}, None], dtype=object)), "pickled"),
    "nan": (dict(image_emb=np.full((80, 16), np.nan, np.float32)), "NaN"),
    "inf in text": (dict(dict_text_emb=np.full((30, 16), np.inf, np.float32)), "NaN or infinite"),
    "dimension mismatch": (dict(class_text_emb=np.ones((4, 8), np.float32)), "dimension 16"),
    "label out of range": (dict(image_label=np.full(80, 7)), "out of range"),
    "negative label": (dict(image_label=np.full(80, -1)), "out of range"),
    "float labels": (dict(image_label=np.zeros(80, np.float32)), "integers"),
    "wrong label count": (dict(image_label=np.zeros(5, np.int64)), "image_label has shape"),
    "int train mask": (dict(image_is_train=np.ones(80, np.int64)), "bool"),
    "zero vector": (dict(class_text_emb=np.zeros((4, 16), np.float32)), "zero length"),
    "string embeddings": (dict(image_emb=np.array([["a"] * 16] * 80)), "floats"),
    "bad meta": (dict(meta=np.array("{not json")), "JSON"),
    "names count": (dict(class_names=np.array(["a", "b"])), "rows for 2 class names"),
    "dict count": (dict(dict_names=np.array(["a"])), "1 dictionary entries"),
    "ids count": (dict(image_id=np.array(["x"])), "image_id has 1 entries"),
    "empty images": (dict(image_emb=np.zeros((0, 16), np.float32)), "non-empty"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_bundles_get_one_sentence_naming_the_file(tmp_path, case):
    changes, match = HOSTILE[case]
    path = _write(tmp_path / "bad.npz", **changes)
    with pytest.raises(BundleError, match=match) as info:
        load_bundle(path)
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg


def test_not_a_zip_truncated_and_text_file(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("just some text, not a bundle")
    with pytest.raises(BundleError, match="not a valid zip|not an .npz"):
        load_bundle(text)
    good = save_bundle(random_bundle(), tmp_path / "good.npz")
    truncated = tmp_path / "trunc.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(BundleError):
        load_bundle(truncated)
    with pytest.raises(BundleError, match="no such bundle"):
        load_bundle(tmp_path / "absent.npz")
    with pytest.raises(BundleError, match="folder"):
        load_bundle(tmp_path)


def test_zip_bomb_sized_bundle_is_refused_before_reading(tmp_path):
    path = save_bundle(random_bundle(), tmp_path / "b.npz")
    with pytest.raises(BundleError, match="above the 0.001 MB limit"):
        load_bundle(path, max_mb=0.001)


def test_load_from_file_object(tmp_path):
    path = save_bundle(random_bundle(), tmp_path / "b.npz")
    buf = io.BytesIO(path.read_bytes())
    buf.name = "upload.npz"
    assert load_bundle(buf).class_names == random_bundle().class_names
    with pytest.raises(BundleError, match="upload.npz"):
        bad = io.BytesIO(b"garbage")
        bad.name = "upload.npz"
        load_bundle(bad)


def test_never_unpickles(tmp_path, monkeypatch):
    """A pickled member must be refused without ever calling pickle.loads."""
    import pickle

    path = _write(tmp_path / "p.npz", meta=np.array([object()], dtype=object))
    called = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: called.append(1))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: called.append(1))
    with pytest.raises(BundleError, match="pickled"):
        load_bundle(path)
    assert not called
    assert zipfile.is_zipfile(path) and os.path.getsize(path) > 0
