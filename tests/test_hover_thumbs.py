"""Hover thumbnails on the embedding-space projection: the thumbnail dictionary, and the page
mounting it only for sources that have pictures."""

from __future__ import annotations

import base64
import io
import uuid
from pathlib import Path

import numpy as np
import pytest
from conftest import random_bundle
from PIL import Image

from bliss_core.app.thumbnails import jpeg_data_uri, thumbs_for_ids

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "data:image/jpeg;base64,"


def _png(size=(200, 100), color=(220, 20, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def _decode(uri: str) -> Image.Image:
    assert uri.startswith(PREFIX)
    im = Image.open(io.BytesIO(base64.b64decode(uri[len(PREFIX) :])))
    im.load()
    return im


def test_data_uri_is_small_jpeg():
    im = _decode(jpeg_data_uri(_png()))
    assert im.format == "JPEG"
    assert im.size == (64, 32)  # fits 64 px, aspect kept
    r, g, b = im.getpixel((32, 16))
    assert r > 180 and g < 60 and b < 60
    rgba = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 255, 128)).save(rgba, format="PNG")
    assert _decode(jpeg_data_uri(rgba.getvalue())).mode == "RGB"  # JPEG has no alpha
    assert jpeg_data_uri(b"not an image") is None


def test_only_image_points_with_thumbnails():
    image_ids = ["a", "b", "c", "d"]
    pics = {"a": _png(), "c": _png(color=(0, 0, 200)), "d": b"corrupt"}
    asked = []

    def thumb(name):
        asked.append(name)
        return pics.get(name)

    # ids >= 4 are texts; 1 ("b") has no picture; 3 ("d") is unreadable; -1 is nothing
    out = thumbs_for_ids(image_ids, [4, 0, 1, 2, 3, 9, -1, 0, 1], thumb)
    assert list(out) == ["0", "2"]
    assert all(v.startswith(PREFIX) for v in out.values())
    assert asked == ["a", "b", "c", "d"]  # texts never looked up, each image once
    assert thumbs_for_ids(None, [0, 1], thumb) == {}
    assert thumbs_for_ids([], [0, 1], thumb) == {}


def test_cap_is_respected():
    png = _png((8, 8))
    out = thumbs_for_ids([f"i{k}" for k in range(50)], list(range(50)), lambda _: png, max_count=7)
    assert list(out) == [str(k) for k in range(7)]


def _page(monkeypatch, reader):
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("BLISS_BUNDLE", raising=False)
    at = AppTest.from_file(str(ROOT / "pages" / "1_Embedding_space.py"), default_timeout=120)
    at.run()  # the first run sets the session's defaults (the simulation)
    if reader is not None:  # what embedding with a real model leaves in the session
        at.session_state["source"] = {"kind": "model", "key": uuid.uuid4().hex}
        at.session_state["model_bundle"] = random_bundle()
        at.session_state["model_thumb_reader"] = reader
        at.run()
        assert not any("SIMULATION" in str(i.value) for i in at.info)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _hover_caption(at) -> bool:
    return any("Hover over an image point" in str(c.value) for c in at.caption)


def _hover_component(at):
    return [e for e in at.get("bidi_component") if "hover_thumbs" in str(e.proto)]


@pytest.mark.parametrize("with_pictures", [True, False])
def test_page_mounts_thumbnails_for_a_source_with_pictures(monkeypatch, with_pictures):
    png = _png((32, 32))
    at = _page(monkeypatch, (lambda name: png) if with_pictures else (lambda name: None))
    assert _hover_caption(at) == with_pictures
    mounted = _hover_component(at)
    assert len(mounted) == (1 if with_pictures else 0)
    if with_pictures:
        proto = str(mounted[0].proto)
        assert "proj_chart" in proto and PREFIX in proto


def test_simulation_page_has_no_thumbnails(monkeypatch):
    at = _page(monkeypatch, None)
    assert any("SIMULATION" in str(i.value) for i in at.info)
    assert not _hover_caption(at)
    assert not _hover_component(at)


def _bundle_of_folder(tmp_path) -> str:
    """A bundle file as `bliss embed --data folder:...` would leave it (random embeddings), whose
    images are still in that folder on this machine."""
    from bliss_core import Bundle, save_bundle
    from bliss_core.embed.sources import open_source

    root = tmp_path / "imgs"
    for c, color in (("red", (220, 30, 30)), ("blue", (30, 40, 220))):
        (root / c).mkdir(parents=True)
        for i in range(10):
            (root / c / f"{i}.png").write_bytes(_png((24, 24), color))
    src = open_source(f"folder:{root}")
    items = src.items
    rng = np.random.default_rng(0)
    b = Bundle(
        image_emb=rng.standard_normal((len(items), 16)).astype(np.float32),
        image_label=np.array([it.label for it in items]),
        image_is_train=np.array([it.is_train for it in items]),
        class_names=list(src.class_names),
        class_text_emb=rng.standard_normal((2, 16)).astype(np.float32),
        dict_names=[f"w{j}" for j in range(20)],
        dict_text_emb=rng.standard_normal((20, 16)).astype(np.float32),
        meta={"dataset": src.spec},
        image_id=[it.image_id for it in items],
    )
    return str(save_bundle(b, tmp_path / "b.npz"))


@pytest.mark.parametrize("allow_paths", ["1", "0"])
def test_bundle_file_shows_its_images_inside_the_data_root(monkeypatch, tmp_path, allow_paths):
    """BLISS_BUNDLE from `bliss embed` on a folder: the pictures come from that folder when it
    lies inside BLISS_DATA_ROOT, and never without one."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("BLISS_BUNDLE", _bundle_of_folder(tmp_path))
    if allow_paths == "1":
        monkeypatch.setenv("BLISS_DATA_ROOT", str(tmp_path))
    else:
        monkeypatch.delenv("BLISS_DATA_ROOT", raising=False)
    at = AppTest.from_file(str(ROOT / "pages" / "1_Embedding_space.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _hover_caption(at) == (allow_paths == "1")
    assert len(_hover_component(at)) == (1 if allow_paths == "1" else 0)
