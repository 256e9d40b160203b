"""The hostile corpora (generated in test_data / test_bundle) through the CLI and the app's
upload path: every file is either used correctly or refused by name, never a crash."""

from __future__ import annotations

import numpy as np
import pytest
from test_bundle import HOSTILE, _write
from test_data import (
    animated_gif,
    cmyk_jpeg,
    exif_rotated_jpeg,
    grayscale_png,
    jpeg,
    palette_transparent_png,
    png,
    png16,
    png_bomb,
)

from bliss_core.cli import main


class _Upload:
    """What Streamlit's file_uploader hands the app."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data, self.size = name, data, len(data)

    def getvalue(self) -> bytes:
        return self._data


GOOD = {
    "plain.jpg": jpeg,
    "plain.png": png,
    "cmyk.jpg": cmyk_jpeg,
    "16bit.png": png16,
    "palette.png": palette_transparent_png,
    "rotated.jpg": exif_rotated_jpeg,
    "anim.gif": animated_gif,
    "gray.png": grayscale_png,
}
BAD = {
    "empty.jpg": lambda: b"",
    "truncated.jpg": lambda: jpeg(size=(64, 64))[:200],
    "text.jpg": lambda: b"<html><img src=x onerror=alert(1)></html>",
    "bomb.png": png_bomb,
    "script.svg": lambda: b"<svg onload=alert(1)></svg>",
}


def test_image_corpus_through_app_upload_path():
    from bliss_core.app import uploads as S

    uploads = [_Upload(n, f()) for n, f in {**GOOD, **BAD}.items()]
    pairs, msgs = S.check_uploads(uploads)
    good, refused = S.decode_uploads(pairs)
    assert sorted(n for n, _ in good) == sorted(GOOD)
    for name in BAD:
        assert any(m.startswith(name) for m in refused + msgs), f"{name} was not refused by name"
    for _, img in good:
        assert img.mode == "RGB"
    rotated = dict(good)["rotated.jpg"]
    assert rotated.size == (20, 40)  # EXIF orientation applied


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_bundle_corpus_through_cli(tmp_path, capsys, case):
    changes, match = HOSTILE[case]
    path = _write(tmp_path / "bad.npz", **changes)
    assert main(["evaluate", "--bundle", str(path), "--setup", "1", "--lam", "0.5", "--topk", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bliss: error:") and str(path) in err and "\n" not in err


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_bundle_corpus_through_app_upload(tmp_path, case):
    from bliss_core.app import sources as S
    from bliss_core.errors import AppError

    changes, match = HOSTILE[case]
    data = _write(tmp_path / "bad.npz", **changes).read_bytes()
    with pytest.raises(AppError) as info:
        S.load_bundle_upload("bad.npz", data)
    assert "bad.npz" in str(info.value)


def test_user_typed_labels_never_become_html():
    from bliss_core.analysis import figures as F
    from bliss_core.core.text import clean_labels

    evil = '<img src=x onerror="alert(1)">'
    labels, problems = clean_labels([evil, "", "cat", "cat", "x" * 5000, "tab\tand\x00nul"])
    assert labels[0] == evil  # kept as text...
    fig = F.whatif_bars(labels[:2], {"score": [0.1, 0.2]})
    html = fig.to_html(include_plotlyjs=False)
    assert "<img src=x" not in html  # ...but escaped wherever it is drawn
    assert problems and all("\x00" not in l for l in labels)
    assert np.all([len(l) <= 200 for l in labels])
