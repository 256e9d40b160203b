"""Image sources and safe decoding, on a hostile corpus generated here."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bliss_core.embed.decode import decode_image, images_from_uploads
from bliss_core.embed.sources import DataError, ImageRejected, open_source, open_zip_bytes

REPO = Path(__file__).resolve().parents[1]
CIFAR10_ZIP = Path(os.environ.get("BLISS_SHARED_DATA", REPO.parent / "shared" / "data")) / "cifar10.zip"


# -- corpus --------------------------------------------------------------------------------
def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def jpeg(color=(200, 30, 30), size=(16, 12)) -> bytes:
    return _save(Image.new("RGB", size, color), "JPEG", quality=95)


def png(color=(10, 200, 10), size=(16, 12)) -> bytes:
    return _save(Image.new("RGB", size, color), "PNG")


def png_bomb(w: int = 100_000, h: int = 100_000) -> bytes:
    """A valid PNG header claiming w x h pixels (a few hundred bytes on disk)."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def animated_gif() -> bytes:
    frames = [Image.new("P", (8, 8), 0), Image.new("P", (8, 8), 1)]
    for f in frames:
        f.putpalette([255, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 6))
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)


def cmyk_jpeg() -> bytes:
    return _save(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", quality=95)


def png16() -> bytes:
    arr = np.full((6, 6), 32768, dtype=np.uint16)
    return _save(Image.fromarray(arr), "PNG")


def palette_transparent_png() -> bytes:
    im = Image.new("P", (8, 8), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    im.paste(1, (0, 0, 4, 8))  # left half red, right half index 0 = transparent
    return _save(im, "PNG", transparency=0)


def exif_rotated_jpeg() -> bytes:
    im = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    return _save(im, "JPEG", exif=exif.tobytes())


def grayscale_png() -> bytes:
    return _save(Image.new("L", (8, 8), 77), "PNG")


# -- decoding ------------------------------------------------------------------------------
def test_decode_good_variants():
    im = decode_image(cmyk_jpeg(), "cmyk.jpg")
    assert im.mode == "RGB" and im.getpixel((4, 4))[0] > 200 and im.getpixel((4, 4))[1] < 60

    im = decode_image(png16(), "16.png")
    assert im.mode == "RGB" and abs(im.getpixel((1, 1))[0] - 128) <= 1  # scaled, not clipped to 255

    im = decode_image(palette_transparent_png(), "p.png")
    assert im.mode == "RGB"
    assert im.getpixel((1, 1)) == (255, 0, 0)
    assert im.getpixel((6, 1)) == (255, 255, 255)  # transparent composited on white

    im = decode_image(exif_rotated_jpeg(), "rot.jpg")
    assert im.size == (20, 40)

    im = decode_image(animated_gif(), "anim.gif")
    assert im.mode == "RGB" and im.getpixel((0, 0)) == (255, 0, 0)  # first frame

    im = decode_image(grayscale_png(), "g.png")
    assert im.mode == "RGB" and im.getpixel((0, 0)) == (77, 77, 77)


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"", "empty"),
        (jpeg(size=(64, 64))[:200], "truncated|cannot decode"),
        (b"this is text, not a JPEG", "not a recognised image"),
        (png_bomb(), "decompression bomb"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "not a recognised image"),
    ],
    ids=["empty", "truncated", "text", "bomb", "eps-not-allowed"],
)
def test_decode_refuses_by_name(payload, reason):
    with pytest.raises(ImageRejected, match=reason) as info:
        decode_image(payload, "evil.jpg")
    assert info.value.name == "evil.jpg"
    assert str(info.value).startswith("evil.jpg: ")


def test_pixel_limit_is_configurable():
    big = _save(Image.new("1", (2000, 2000)), "PNG")
    with pytest.raises(ImageRejected, match="pixel limit"):
        decode_image(big, "big.png", max_pixels=1_000_000)
    assert decode_image(big, "big.png").size == (2000, 2000)


def test_uploads():
    good, bad = images_from_uploads([("a.jpg", jpeg()), ("dir/../b.txt", b"nope"), ("c.zip", b"PK")])
    assert [n for n, _ in good] == ["a.jpg"]
    assert [n for n, _ in bad] == ["b.txt", "c.zip"]


# -- folders -------------------------------------------------------------------------------
def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_folder_source_hostile(tmp_path):
    root = tmp_path / "ds"
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(jpeg())
    for split in ("train", "test"):
        for cls, col in (("cat", (200, 0, 0)), ("dog_house", (0, 200, 0))):
            for i in range(2):
                _write(root / split / cls / f"{i}.jpg", jpeg(col))
    _write(root / "train" / "cat" / "fake.jpg", b"hello")
    _write(root / "train" / "cat" / "notes.txt", b"notes")
    _write(root / "train" / "cat" / "inner.zip", b"PK\x05\x06" + b"\0" * 18)
    (root / "train" / "empty").mkdir()
    os.symlink(outside, root / "train" / "dog_house" / "leak.jpg")
    os.symlink(root / "train" / "cat" / "0.jpg", root / "train" / "cat" / "link_inside.jpg")
    os.symlink(tmp_path, root / "train" / "loop")

    src = open_source(f"folder:{root}")
    assert src.class_names == ["cat", "dog house"]
    ids = [it.image_id for it in src.items]
    assert "train/dog_house/leak.jpg" not in ids
    assert "train/cat/link_inside.jpg" in ids
    skipped = dict(src.skipped)
    assert "symlink pointing outside" in skipped["train/dog_house/leak.jpg"]
    assert "not an image" in skipped["train/cat/notes.txt"]
    assert "nested archive" in skipped["train/cat/inner.zip"]
    assert "empty class folder" in skipped["train/empty/"]
    assert "train/loop" in skipped
    fake = next(it for it in src.items if it.image_id == "train/cat/fake.jpg")
    with pytest.raises(ImageRejected, match="not a recognised image"):
        fake.load()
    assert sum(it.is_train for it in src.items) == 6 and sum(not it.is_train for it in src.items) == 4
    assert src.items[0].load().mode == "RGB"


def test_folder_without_split_top_folder_and_limit(tmp_path):
    root = tmp_path / "top" / "mydata"
    for cls in ("b", "a"):
        for i in range(10):
            _write(root / cls / f"{i:02d}.png", png((i * 20, 0, 0)))
    src = open_source(f"folder:{tmp_path / 'top'}")
    assert src.class_names == ["a", "b"]
    test_ids = sorted(it.image_id for it in src.items if not it.is_train and it.label == 0)
    assert test_ids == ["mydata/a/04.png", "mydata/a/09.png"]  # every 5th in sorted order
    assert "5th" in src.meta["split_rule"]
    lim = open_source(f"folder:{tmp_path / 'top'}", per_class_limit=3)
    assert sum(1 for it in lim.items if it.label == 1 and it.is_train) == 3
    assert sum(1 for it in lim.items if it.label == 1 and not it.is_train) == 2
    assert [it.image_id for it in lim.items if it.label == 0 and it.is_train] == [
        "mydata/a/00.png",
        "mydata/a/01.png",
        "mydata/a/02.png",
    ]


def test_confined_sources_stay_inside_their_folder(tmp_path):
    root = tmp_path / "root"
    _write(root / "ds" / "c" / "x.png", png())
    _write(tmp_path / "outside" / "c" / "x.png", png())
    (root / "escape").symlink_to(tmp_path / "outside")
    assert open_source("folder:ds", confine_to=root).class_names == ["c"]  # relative to the root
    assert open_source(f"folder:{root / 'ds'}", confine_to=root).class_names == ["c"]
    for spec in (
        "folder:../outside",
        f"folder:{tmp_path / 'outside'}",
        "folder:escape",
        "zip:../a.zip",
        "tinyimagenet:/etc",
        "folder:ds/../../outside",
    ):
        with pytest.raises(DataError, match="outside the data folder"):
            open_source(spec, confine_to=root)


@pytest.mark.parametrize(
    "spec, what",
    [
        ("folder:/nonexistent/x", "no such folder"),
        ("zip:/nonexistent/x.zip", "no such zip"),
        ("imagenet", "unknown data source"),
        ("folder:", "needs a path"),
    ],
)
def test_source_errors(spec, what):
    with pytest.raises(DataError, match=what):
        open_source(spec)


def test_folder_with_no_images(tmp_path):
    _write(tmp_path / "a" / "readme.txt", b"x")
    with pytest.raises(DataError, match="no image files"):
        open_source(f"folder:{tmp_path}")


# -- zips ----------------------------------------------------------------------------------
def hostile_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data/train/cat/1.jpg", jpeg((250, 0, 0)))
        zf.writestr("data/train/cat/2.png", png())
        zf.writestr("data/test/cat/3.jpg", jpeg((240, 10, 10)))
        zf.writestr("data/train/dog/1.jpg", jpeg((0, 0, 250)))
        zf.writestr("data/test/dog/2.gif", animated_gif())
        zf.writestr("data/train/dog/fake.jpg", b"plain text pretending")
        zf.writestr("data/train/dog/readme.md", b"# hi")
        zf.writestr("data/train/dog/nested.zip", b"PK\x05\x06" + b"\0" * 18)
        zf.writestr("data/train/empty/", b"")
        zf.writestr("../escape.jpg", jpeg())
        zf.writestr("/abs/path.jpg", jpeg())
        link = zipfile.ZipInfo("data/train/cat/link.jpg")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("data/train/cat/bomb.jpg", b"\0" * (4 * 1024 * 1024))  # ratio ~1000:1
        zf.writestr("__MACOSX/data/train/cat/._1.jpg", b"junk")


def test_zip_source_hostile(tmp_path):
    z = tmp_path / "h.zip"
    hostile_zip(z)
    src = open_source(f"zip:{z}")
    assert src.class_names == ["cat", "dog"]
    ids = {it.image_id: it for it in src.items}
    assert set(ids) == {
        "data/train/cat/1.jpg",
        "data/train/cat/2.png",
        "data/test/cat/3.jpg",
        "data/train/dog/1.jpg",
        "data/test/dog/2.gif",
        "data/train/dog/fake.jpg",
    }
    skipped = dict(src.skipped)
    assert "zip-slip" in skipped["../escape.jpg"]
    assert "absolute path" in skipped["/abs/path.jpg"]
    assert "symlink" in skipped["data/train/cat/link.jpg"]
    assert "zip bomb" in skipped["data/train/cat/bomb.jpg"]
    assert "nested archive" in skipped["data/train/dog/nested.zip"]
    assert "not an image" in skipped["data/train/dog/readme.md"]
    assert "empty class folder" in skipped["data/train/empty/"]
    assert not any("__MACOSX" in n for n in skipped)
    assert ids["data/test/dog/2.gif"].load().getpixel((0, 0)) == (255, 0, 0)
    assert ids["data/train/cat/1.jpg"].load().getpixel((2, 2))[0] > 200
    with pytest.raises(ImageRejected) as info:
        ids["data/train/dog/fake.jpg"].load()
    assert info.value.name == "data/train/dog/fake.jpg"
    assert ids["data/train/cat/1.jpg"].content_key() != ids["data/test/cat/3.jpg"].content_key()
    src.close()
    assert not (tmp_path / "escape.jpg").exists() and not (tmp_path.parent / "escape.jpg").exists()
    # the same archive from memory (uploads)
    mem = open_zip_bytes(z.read_bytes(), "upload.zip")
    assert [it.image_id for it in mem.items] == [it.image_id for it in src.items]


def test_zip_total_size_cap(tmp_path, monkeypatch):
    z = tmp_path / "t.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for i in range(3):
            zf.writestr(f"c/{i}.png", png())
    monkeypatch.setenv("BLISS_MAX_ZIP_TOTAL_BYTES", "100")
    with pytest.raises(DataError, match="zip bomb"):
        open_source(f"zip:{z}")


def test_not_a_zip(tmp_path):
    p = tmp_path / "x.zip"
    p.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable zip"):
        open_source(f"zip:{p}")


# -- tiny imagenet -------------------------------------------------------------------------
def test_tinyimagenet_layout(tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    wnids = ["n02", "n01", "n03"]
    for w in wnids:
        for i in range(3):
            _write(root / "train" / w / "images" / f"{w}_{i}.JPEG", jpeg())
        (root / "train" / w / f"{w}_boxes.txt").write_text("")
    lines = []
    for i, w in enumerate(["n01", "n02", "n03", "n01", "n09"]):
        _write(root / "val" / "images" / f"val_{i}.JPEG", jpeg())
        lines.append(f"val_{i}.JPEG\t{w}\t0\t0\t10\t10")
    (root / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    (root / "words.txt").write_text(
        "n01\tgoldfish, Carassius auratus\nn02\tsalamander\nn03\tbullfrog, Rana\n"
    )
    src = open_source(f"tinyimagenet:{tmp_path}")
    assert src.class_names == ["goldfish", "salamander", "bullfrog"]
    train = [it for it in src.items if it.is_train]
    test = [it for it in src.items if not it.is_train]
    assert len(train) == 9
    assert sorted((it.image_id, it.label) for it in test) == [
        ("val/images/val_0.JPEG", 0),
        ("val/images/val_1.JPEG", 1),
        ("val/images/val_2.JPEG", 2),
        ("val/images/val_3.JPEG", 0),
    ]
    assert "unknown class" in dict(src.skipped)["val/images/val_4.JPEG"]
    lim = open_source(f"tinyimagenet:{root}", per_class_limit=1)
    assert sum(it.is_train for it in lim.items) == 3 and sum(not it.is_train for it in lim.items) == 3
    assert train[0].load().mode == "RGB"


def test_cifar_offline_fails_fast(tmp_path, monkeypatch):
    pytest.importorskip("torchvision")
    from bliss_core.embed import network

    monkeypatch.setattr(network, "reachable", lambda *a, **k: False)
    with pytest.raises(DataError, match="offline"):
        open_source("cifar10", data_root=tmp_path)


@pytest.mark.skipif(not CIFAR10_ZIP.is_file(), reason="../shared/data/cifar10.zip not available")
def test_real_cifar10_zip_layout():
    src = open_source(f"zip:{CIFAR10_ZIP}", per_class_limit=2)
    assert src.class_names == [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    assert len(src.items) == 40
    assert sum(it.is_train for it in src.items) == 20
    assert src.items[0].image_id.startswith("cifar10/train/airplane/")
    assert src.items[0].load().size == (32, 32)
    src.close()
