"""The app with an untrained (random-weight) open_clip model on a tiny folder, under AppTest.

Covers the home page's model form (Embed with progress), the untrained warning on every page,
free-text labels on the what-if page (needs the text encoder) and scoring an uploaded image.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("open_clip")
pytest.importorskip("torch")
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = [
    "pages/1_Embedding_space.py",
    "pages/2_Dictionary_similarity.py",
    "pages/3_BLISS_scoring.py",
    "pages/4_Label_what_if.py",
]


def _png(color, size=24) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(sum(color))
    arr = np.clip(np.array(color)[None, None, :] + rng.normal(0, 25, (size, size, 3)), 0, 255).astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture()
def tiny_folder(tmp_path):
    root = tmp_path / "imgs"
    for name, color in (("red", (220, 30, 30)), ("green", (30, 200, 40)), ("blue", (30, 40, 220))):
        (root / name).mkdir(parents=True)
        for i in range(5):
            (root / name / f"{i}.png").write_bytes(_png((color[0] + i, color[1], color[2])))
    (root / "red" / "broken.png").write_bytes(b"not a png")
    return root


def _ok(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not any("Something went wrong" in str(e.value) for e in at.error), [e.value for e in at.error]


def _home(at):
    """Back to the home page: a callable st.Page, which AppTest.switch_page cannot name by file."""
    at._page_hash = next(
        h for h, info in at._registered_pages.items() if info.get("page_name") == "Home & setup"
    )
    return at.run()


def _home_on_folder(tiny_folder, tmp_path, monkeypatch) -> AppTest:
    """The home page, run once, with the test folder's parent as the server's data root and a
    private embedding cache."""
    monkeypatch.setenv("BLISS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BLISS_BUNDLE", raising=False)
    monkeypatch.setenv("BLISS_DATA_ROOT", str(tiny_folder.parent))
    at = AppTest.from_file(APP, default_timeout=300)
    return at.run()


@pytest.mark.slow
def test_untrained_model_on_folder(tiny_folder, tmp_path, monkeypatch):
    at = _home_on_folder(tiny_folder, tmp_path, monkeypatch)
    _ok(at)
    at.radio(key="source_choice").set_value("model").run()
    _ok(at)
    at.radio(key="m_weights").set_value("random").run()
    assert any("UNTRAINED ViT-B-32" in str(w.value) for w in at.warning)
    at.selectbox(key="m_data").set_value("folder").run()
    at.text_input(key="m_path").set_value(tiny_folder.name).run()
    at.selectbox(key="m_dict").set_value("upload").run()
    words = "\n".join(
        [
            "car",
            "dog",
            "tree",
            "house",
            "sky",
            "cup",
            "red apple",
            "green leaf",
            "blue sea",
            "boat",
            "cat",
            "bird",
        ]
    )
    at.file_uploader(key="m_dict_file").upload("dict.txt", words.encode(), "text/plain").run()
    _ok(at)
    at.button(key="m_embed").click().run()
    _ok(at)
    assert any("Embedded" in str(s.value) for s in at.success), [e.value for e in at.error]
    assert any(
        "broken.png" in str(w.value).replace("\\", "") for w in at.warning
    )  # the corrupt file was skipped by name (shown escaped, as text)
    assert at.multiselect(key="normal_sel").options == ["blue", "green", "red"]
    # free-text wording of a normal class, re-encoded by the text encoder, reaches every page
    at.multiselect(key="normal_sel").set_value(["blue", "green"]).run()
    _ok(at)
    at.switch_page("pages/3_BLISS_scoring.py").run()
    at = _home(at)
    at.text_input(key="label_text::blue").set_value("a photo of the deep blue ocean").run()
    _ok(at)
    assert any("deep blue ocean" in str(s.value) for s in at.success), [s.value for s in at.success]
    at.switch_page("pages/3_BLISS_scoring.py").run()
    _ok(at)
    assert any("as “a photo of the deep blue ocean”" in str(m.value) for m in at.markdown)
    # the label embedding the pages score with is the re-encoded wording, not the class name's
    reworded, key = at.session_state["_reworded"]
    blue = reworded.class_names.index("blue")
    original = at.session_state["model_bundle"].class_text_emb[blue]
    assert key.endswith(tuple("0123456789abcdef")) and ":labels:" in key
    assert not np.allclose(reworded.class_text_emb[blue], original)
    at.switch_page("pages/1_Embedding_space.py").run()
    _ok(at)
    for page in PAGES:
        at.switch_page(page).run()
        _ok(at)
        assert any("UNTRAINED" in str(w.value) for w in at.warning), page
        if page.endswith("4_Label_what_if.py"):
            # folder sources keep a way to show thumbnails (what-if images, error galleries)
            assert len(at.get("image")) >= 2  # the logo and at least one thumbnail

    # what-if: free-text labels re-encoded by the (random) text encoder change the scores
    at.switch_page("pages/4_Label_what_if.py").run()
    _ok(at)
    frames = [d.value for d in at.dataframe if "verdict" in d.value.columns]
    assert len(frames) == 2
    before = frames[0]["internal"].to_numpy().copy()
    at.text_area(key="wi_text_A").set_value("a crimson fire truck").run()
    _ok(at)
    frames = [d.value for d in at.dataframe if "verdict" in d.value.columns]
    assert not np.allclose(frames[0]["internal"].to_numpy(), before)
    # bad labels get a message, not an exception
    at.text_area(key="wi_text_A").set_value("\x00\x01\n" + "x" * 300).run()
    _ok(at)
    assert any("limit is 200" in str(w.value) for w in at.warning)

    # upload: one good image is scored, a corrupt one is refused by name
    at.radio(key="wi_src").set_value("upload").run()
    at.file_uploader(key="wi_files").set_value(
        [
            ("good.png", _png((200, 30, 30)), "image/png"),
            ("bad.jpg", b"\xff\xd8garbage", "image/jpeg"),
        ]
    ).run()
    _ok(at)
    assert any("bad.jpg" in str(e.value).replace("\\", "") for e in at.error)  # named, as text
    frames = [d.value for d in at.dataframe if "verdict" in d.value.columns]
    assert frames and list(frames[0]["image"]) == ["good.png"]


def test_server_paths_only_inside_the_data_root(monkeypatch, tmp_path):
    """Without BLISS_DATA_ROOT the app offers uploads only; with it, paths inside that folder."""
    monkeypatch.delenv("BLISS_BUNDLE", raising=False)
    monkeypatch.delenv("BLISS_DATA_ROOT", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.radio(key="source_choice").set_value("model").run()
    _ok(at)
    options = at.selectbox(key="m_data").options
    assert "upload" in " ".join(options).lower()
    assert not any("data folder" in o for o in options), options
    monkeypatch.setenv("BLISS_DATA_ROOT", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.radio(key="source_choice").set_value("model").run()
    assert any("data folder" in o for o in at.selectbox(key="m_data").options)


@pytest.mark.slow
def test_model_form_offers_prompt_ensembles_and_the_21k_dictionary(tiny_folder, tmp_path, monkeypatch):
    at = _home_on_folder(tiny_folder, tmp_path, monkeypatch)
    at.radio(key="source_choice").set_value("model").run()
    at.radio(key="m_weights").set_value("random").run()
    assert "ImageNet-21k names (36,943)" in at.selectbox(key="m_dict").options  # options show as labelled
    assert {"CLIP's 80-template ImageNet ensemble", "CLIP's short ImageNet ensemble"} <= set(
        at.selectbox(key="m_prompt_kind").options
    )
    at.selectbox(key="m_data").set_value("folder").run()
    at.text_input(key="m_path").set_value(tiny_folder.name).run()
    at.selectbox(key="m_dict").set_value("upload").run()
    at.file_uploader(key="m_dict_file").upload("dict.txt", b"car\ndog\ntree\nboat", "text/plain").run()
    at.selectbox(key="m_prompt_kind").set_value("simple-imagenet").run()
    _ok(at)
    assert "m_prompt" not in [w.key for w in at.text_input]  # no template box for an ensemble
    at.button(key="m_embed").click().run()
    _ok(at)
    meta = at.session_state["model_bundle"].meta
    assert meta["prompt"] == "simple-imagenet" and meta["prompt_templates"] > 1
