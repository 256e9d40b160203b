"""Safe on a shared server: a hostile corpus for each finding of the security review.

1 server paths and non-regular files, 2 bundle bombs, 4 predictable temp files, 5 cache
poisoning, 6 ``--out`` targets, 7 tracebacks instead of one-line errors, 8 terminal escapes and
CSV formulas, 9 unbounded work from an upload. (3, data rendered as Markdown, is
``test_browser_hostile.py``.)
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import random_bundle
from test_data import png

from bliss_core import make_simulated_bundle, save_bundle
from bliss_core.cli import main
from bliss_core.errors import BundleError, CacheError, DataError, OutputError

REPO = Path(__file__).resolve().parents[1]


def _bliss(*args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m bliss_core ...` in its own process, so that a hang fails the test instead of the suite."""
    return subprocess.run(
        [sys.executable, "-m", "bliss_core", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


def _one_line_error(proc: subprocess.CompletedProcess, needle: str) -> None:
    err = proc.stderr.strip()
    assert proc.returncode == 2, proc.stderr
    assert err.startswith("bliss: error:") and "\n" not in err and "Traceback" not in err, err
    assert needle in err, err


# -- 1: server paths, FIFOs, devices -------------------------------------------------------
@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "fifo"])
def test_cli_zip_source_of_a_device_or_fifo_is_refused_at_once(tmp_path, target):
    if target == "fifo":
        target = str(tmp_path / "x.zip")
        os.mkfifo(target)
    t = time.monotonic()
    proc = _bliss(
        "embed", "--data", f"zip:{target}", "--out", str(tmp_path / "b.npz"), "--pretrained", "random"
    )
    _one_line_error(proc, "not a regular file")
    assert time.monotonic() - t < 30


def test_fifos_and_devices_inside_sources_are_skipped_by_name(tmp_path):
    from bliss_core.embed.sources import open_source

    folder = tmp_path / "f"
    (folder / "cat").mkdir(parents=True)
    (folder / "cat" / "ok.png").write_bytes(png())
    os.mkfifo(folder / "cat" / "x.png")
    src = open_source(f"folder:{folder}")
    assert [it.image_id for it in src.items] == ["cat/ok.png"]
    assert "not a regular file (FIFO (named pipe))" in dict(src.skipped)["cat/x.png"]
    # TinyImageNet lists file names from its folders: a FIFO named like an image is read, refused, never waited on
    root = tmp_path / "tiny-imagenet-200"
    for w in ("n01", "n02"):
        (root / "train" / w / "images").mkdir(parents=True)
        (root / "train" / w / "images" / f"{w}_0.JPEG").write_bytes(png())
    os.mkfifo(root / "train" / "n01" / "images" / "x.JPEG")
    (root / "val" / "images").mkdir(parents=True)
    (root / "val" / "images" / "v.JPEG").write_bytes(png())
    (root / "val" / "val_annotations.txt").write_text("v.JPEG\tn01\t0\t0\t1\t1\n")
    (root / "words.txt").write_text("n01\tgoldfish\nn02\tsalamander\n")
    src = open_source(f"tinyimagenet:{root}")
    fifo = next(it for it in src.items if it.image_id.endswith("x.JPEG"))
    t = time.monotonic()
    with pytest.raises(Exception, match="not a regular file"):
        fifo.load()
    assert time.monotonic() - t < 5


def test_app_reads_no_server_path_without_a_data_root(monkeypatch, tmp_path):
    from bliss_core.embed.sources import app_data_root

    monkeypatch.delenv("BLISS_DATA_ROOT", raising=False)
    assert app_data_root() is None
    monkeypatch.setenv("BLISS_DATA_ROOT", str(tmp_path))
    assert app_data_root() == tmp_path.resolve()


# -- 2: bundle bombs ------------------------------------------------------------------------
def _bomb(path_or_buf, shape=(1_000_000, 512), descr="<f2") -> None:
    """A valid bundle whose image_emb header declares ``shape`` but holds almost nothing."""
    from numpy.lib import format as npformat

    small = random_bundle()
    arrays = {
        "image_label": small.image_label,
        "image_is_train": small.image_is_train,
        "class_names": np.array(small.class_names),
        "class_text_emb": small.class_text_emb,
        "dict_names": np.array(small.dict_names),
        "dict_text_emb": small.dict_text_emb,
        "meta": np.array(json.dumps({"model": "bomb"})),
    }
    with zipfile.ZipFile(path_or_buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, v in arrays.items():
            buf = io.BytesIO()
            np.save(buf, v)
            zf.writestr(k + ".npy", buf.getvalue())
        head = io.BytesIO()
        npformat.write_array_header_1_0(head, {"descr": descr, "fortran_order": False, "shape": shape})
        zf.writestr("image_emb.npy", head.getvalue() + b"\0" * 4096)


def test_upload_declaring_a_huge_array_is_refused_before_decompression(monkeypatch):
    from bliss_core.app.sources import load_bundle_upload
    from bliss_core.errors import AppError

    buf = io.BytesIO()
    _bomb(buf)
    data = buf.getvalue()
    assert len(data) < 100_000
    monkeypatch.setenv("BLISS_MAX_BUNDLE_MB", "1024")
    called = []
    monkeypatch.setattr(np, "load", lambda *a, **k: called.append(1))  # nothing may be decompressed
    with pytest.raises(AppError, match="above the 1024 MB limit for bundles here .BLISS_MAX_BUNDLE_MB."):
        load_bundle_upload("bomb.npz", data)
    assert not called


def test_cli_bundle_declaring_terabytes_is_one_line(tmp_path):
    path = tmp_path / "tera.npz"
    _bomb(path, shape=(2_000_000_000, 512), descr="<f4")  # 3.7 TiB
    proc = _bliss("evaluate", "--bundle", str(path), "--setup", "1")
    _one_line_error(proc, "memory available")
    assert "MemoryError" not in proc.stderr


def test_app_upload_of_a_bomb_keeps_nothing_in_the_session(tmp_path):
    from streamlit.testing.v1 import AppTest

    buf = io.BytesIO()
    _bomb(buf)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.radio(key="source_choice").set_value("bundle").run()
    at.file_uploader(key="bundle_upload").upload("bomb.npz", buf.getvalue(), "application/octet-stream").run()
    assert not at.exception
    assert any("BLISS_MAX_BUNDLE_MB" in str(e.value).replace("\\", "") for e in at.error)  # shown escaped
    assert "uploaded_bundle" not in at.session_state or at.session_state["uploaded_bundle"] is None
    assert at.session_state["source"]["kind"] == "simulation"


def test_hostile_upload_names_are_shown_as_text():
    """An uploaded file's name reaches the page in the refusal message: as text, never Markdown."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/4_Label_what_if.py").run()
    at.radio(key="wi_src").set_value("upload").run()
    hostile = "![x](http://127.0.0.1:9/p.png) <img src=x> [y](javascript:alert(1)).jpg"
    at.file_uploader(key="wi_files").set_value([(hostile, b"\xff\xd8garbage", "image/jpeg")]).run()
    assert not at.exception
    shown = [str(e.value) for e in at.error]
    assert any("p.png" in m.replace("\\", "") for m in shown), shown  # the file is named...
    for m in shown:  # ...but no Markdown link, image or HTML tag survives
        assert "](" not in m and "<img" not in m, m


# -- 4: no predictable temporary paths ------------------------------------------------------
def test_no_predictable_temp_paths_in_the_library():
    for path in (REPO / "bliss_core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "gettempdir" not in text, path
        assert "/tmp/" not in text, path


# -- 5: the embedding cache -------------------------------------------------------------------
IDENT = {"model": "m", "weights": "w", "preprocessing": {"mode": "model"}}


def _keys(n: int, offset: int = 0) -> list[str]:
    return [f"{i + offset:064x}" for i in range(n)]


def test_cache_folders_are_private_unless_shared(tmp_path, monkeypatch):
    from bliss_core.embed.cache import EmbeddingCache

    monkeypatch.delenv("BLISS_CACHE_SHARED", raising=False)
    c = EmbeddingCache(IDENT, tmp_path / "private")
    for folder in (c.root, c.dir, c.shard_dir, c.lock_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    monkeypatch.setenv("BLISS_CACHE_SHARED", "1")
    s = EmbeddingCache(IDENT, tmp_path / "shared")
    assert stat.S_IMODE(s.dir.stat().st_mode) == 0o770


def test_a_later_shard_never_replaces_an_entry(tmp_path):
    from bliss_core.embed.cache import EmbeddingCache, _encode_shard

    c = EmbeddingCache(IDENT, tmp_path, dim=4)
    good = np.eye(4, dtype=np.float32)
    c.put(_keys(4), good)
    planted = c.shard_dir / "image-planted-000000000000.bshard"  # a valid checksum, other values
    time.sleep(0.01)
    planted.write_bytes(_encode_shard(_keys(2), -np.ones((2, 4), np.float32), "image"))
    fresh = EmbeddingCache(IDENT, tmp_path, dim=4)
    np.testing.assert_array_equal(fresh.get(_keys(1)[0]), good[0])
    assert any("disagrees with earlier entries for 2 key(s)" in n for n in fresh.notes)


def test_bad_entries_are_dropped_with_a_note(tmp_path):
    from bliss_core.embed.cache import EmbeddingCache, _encode_shard

    c = EmbeddingCache(IDENT, tmp_path, dim=4)
    c.put(_keys(2), np.eye(4, dtype=np.float32)[:2])
    (c.shard_dir / "image-wrongdim-0.bshard").write_bytes(
        _encode_shard(_keys(1, 10), np.ones((1, 7), np.float32), "image")
    )
    nan = np.ones((2, 4), np.float32)
    nan[1, 2] = np.nan
    (c.shard_dir / "image-nan-0.bshard").write_bytes(_encode_shard(_keys(2, 20), nan, "image"))
    fresh = EmbeddingCache(IDENT, tmp_path, dim=4)
    assert fresh.get(_keys(1, 10)[0]) is None  # wrong dimension: recomputed
    assert fresh.get(_keys(2, 20)[0]) is not None and fresh.get(_keys(2, 20)[1]) is None  # NaN row only
    assert any("dimension 7, expected 4" in n for n in fresh.notes)
    assert any("NaN or infinite" in n for n in fresh.notes)


def test_cache_errors_name_the_cache_and_how_to_clear_it(tmp_path):
    from bliss_core.embed.cache import EmbeddingCache

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheError) as info:
        EmbeddingCache(IDENT, blocker)
    assert str(blocker) in str(info.value) and "delete" in str(info.value)


# -- 6: --out ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim_bundle(tmp_path_factory) -> str:
    return str(
        save_bundle(
            make_simulated_bundle(n_dict=60, dim=24, test_per_class=10, train_per_class=20),
            tmp_path_factory.mktemp("b") / "sim.npz",
        )
    )


def test_out_refuses_fifos_symlinks_and_devices(tmp_path, sim_bundle, capsys):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.csv"
    link.symlink_to(victim)
    for target, kind in ((fifo, "FIFO"), (link, "symlink"), (Path("/dev/full"), "device")):
        rc = main(["score", "--bundle", sim_bundle, "--normal", "0", "--out", str(target)])
        err = capsys.readouterr().err
        assert rc == 2 and kind in err and str(target) in err and ".part" not in err, err
    assert victim.read_text() == "keep me" and link.is_symlink() and stat.S_ISFIFO(fifo.stat().st_mode)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_out_into_a_missing_folder_names_it_and_creates_nothing(tmp_path, sim_bundle, capsys):
    target = tmp_path / "not" / "there" / "s.csv"
    assert main(["score", "--bundle", sim_bundle, "--normal", "0", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"the folder {tmp_path / 'not'} does not exist" in err
    assert not (tmp_path / "not").exists()
    with pytest.raises(OutputError, match="is not a folder"):
        from bliss_core.files import check_output

        (tmp_path / "plain").write_text("x")
        check_output(tmp_path / "plain" / "s.csv")


def test_embed_checks_out_before_any_work(tmp_path):
    folder = tmp_path / "imgs" / "cat"
    folder.mkdir(parents=True)
    (folder / "a.png").write_bytes(png())
    t = time.monotonic()
    proc = _bliss(
        "embed",
        "--data",
        f"folder:{folder.parent}",
        "--out",
        str(tmp_path / "missing" / "b.npz"),
        "--model",
        "no-such-model-either",
    )
    _one_line_error(proc, "does not exist")  # the folder, not the model: --out is checked first
    assert "missing" in proc.stderr and time.monotonic() - t < 30


# -- 7: one line, never a traceback -----------------------------------------------------------
@pytest.mark.parametrize(
    "argv,needle",
    [
        (["evaluate", "--setup", "1", "--topk", "inf"], "finite number"),
        (["evaluate", "--setup", "1", "--topk", "1e400"], "finite number"),
        (["evaluate", "--setup", "1", "--lam", "nan"], "finite number"),
        (["score", "--normal", "1e400", "--out", "x.csv"], "no class is called"),
        (["score", "--normal", "0", "--topk=-1e400", "--out", "x.csv"], "finite number"),
    ],
)
def test_numbers_that_overflow_are_one_line_errors(sim_bundle, capsys, argv, needle):
    rc = main(argv[:1] + ["--bundle", sim_bundle] + argv[1:])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("bliss: error:") and needle in err and "\n" not in err, err


def test_a_folder_nested_1500_deep_is_not_a_recursion_error(tmp_path):
    from bliss_core.embed.sources import open_source

    root = tmp_path / "deep"
    (root / "cat").mkdir(parents=True)
    (root / "cat" / "ok.png").write_bytes(png())
    d = root / "dog"
    d.mkdir()
    os.chdir(d)  # build 1,500 levels with short relative paths
    try:
        for _ in range(1500):
            os.mkdir("d")
            os.chdir("d")
        Path("x.png").write_bytes(png())
    finally:
        os.chdir(REPO)
    try:
        src = open_source(f"folder:{root}")
        assert [it.image_id for it in src.items] == ["cat/ok.png"]
        assert any("nested deeper than" in reason for _, reason in src.skipped)
    finally:  # pytest's own clean-up (shutil.rmtree) recurses per level and would fail on this tree
        subprocess.run(["rm", "-rf", str(d)], check=True)


# -- 8: terminal escapes and CSV formulas -----------------------------------------------------
def test_control_characters_are_printed_escaped():
    from bliss_core.core.text import printable

    assert printable("evil\x1b[31mred\x07.png") == "evil\\x1b[31mred\\x07.png"
    assert printable("photo\u202egnp.exe") == "photo\\u202egnp.exe"
    assert printable("plain name.jpg") == "plain name.jpg"


def test_skipped_file_names_reach_the_terminal_escaped(tmp_path):
    pytest.importorskip("open_clip")
    from tiny_clip import write_tiny_config

    folder = tmp_path / "imgs"
    for c in ("a", "b"):
        (folder / c).mkdir(parents=True)
        for i in range(3):
            (folder / c / f"{i}.png").write_bytes(png())
    (folder / "a" / "evil\x1b[2J\x1b[31mred.txt").write_text("not an image")
    proc = _bliss(
        "embed",
        "--data",
        f"folder:{folder}",
        "--out",
        str(tmp_path / "b.npz"),
        "--model",
        str(write_tiny_config(tmp_path / "cfg")),
        "--pretrained",
        "random",
        "--dictionary",
        str(_words(tmp_path)),
        "--device",
        "cpu",
        "--cache-dir",
        str(tmp_path / "cache"),
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stderr
    assert "skipped a/evil\\x1b[2J\\x1b[31mred.txt" in proc.stderr


def _words(tmp_path: Path) -> Path:
    p = tmp_path / "words.txt"
    p.write_text(
        "\n".join(["car", "dog", "tree", "house", "sky", "cup", "boat", "cat", "bird", "sea", "sun"])
    )
    return p


def test_csv_cells_that_would_be_formulas_are_neutralised(tmp_path):
    b = random_bundle(n_classes=3)
    b.class_names = ['=HYPERLINK("http://x")', "+cmd", "@SUM(A1)"]
    b.image_id = [("-2+3" if i % 2 else "=1+1") for i in range(len(b.image_label))]
    path = save_bundle(b, tmp_path / "b.npz")
    out = tmp_path / "s.csv"
    assert main(["score", "--bundle", str(path), "--normal", "1", "--topk", "3", "--out", str(out)]) == 0
    rows = list(csv.reader(out.open()))
    for row in rows[1:]:
        for cell in (row[1], row[3], row[8]):
            assert not cell.startswith(("=", "+", "-", "@")), row
        float(row[5])  # numbers stay numbers
    import pandas as pd

    from bliss_core.app.tables import safe_csv

    text = safe_csv(
        pd.DataFrame({"id": ["=1+1", "ok", "@x"], "score": [-0.5, 1.0, 2.0], "flag": [True, False, True]})
    )
    lines = text.splitlines()
    assert lines[1].startswith("'=1+1,-0.5") and lines[3].startswith("'@x,2.0")


# -- 9: caps on what an upload can ask for ----------------------------------------------------
def _zip_with(n_classes: int, per_class: int) -> bytes:
    buf = io.BytesIO()
    image = png()
    with zipfile.ZipFile(buf, "w") as zf:
        for c in range(n_classes):
            for i in range(per_class):
                zf.writestr(f"c{c:05d}/{i}.png", image)
    return buf.getvalue()


def test_upload_caps_are_checked_before_any_work(monkeypatch):
    from bliss_core.embed import decode
    from bliss_core.embed.sources import open_zip_bytes

    monkeypatch.setattr(
        decode, "decode_image", lambda *a, **k: pytest.fail("decoded before the caps were checked")
    )
    with pytest.raises(DataError, match="more than the 100 allowed here .BLISS_MAX_UPLOAD_CLASSES."):
        open_zip_bytes(_zip_with(150, 1), max_images=2000, max_classes=100)
    with pytest.raises(DataError, match="more than the 2,000 allowed here .BLISS_MAX_UPLOAD_IMAGES."):
        open_zip_bytes(_zip_with(10, 300), max_images=2000, max_classes=100)
    ok = open_zip_bytes(_zip_with(10, 300), per_class_limit=50, max_images=2000, max_classes=100)
    assert len(ok.items) == 10 * 100  # 50 reference + 50 test images per class fit the cap


def test_bundle_errors_are_bundle_errors(tmp_path):
    with pytest.raises(BundleError, match="not a regular file|cannot be read"):
        from bliss_core import load_bundle

        fifo = tmp_path / "b.npz"
        os.mkfifo(fifo)
        load_bundle(fifo)


def test_readme_lists_every_shared_server_setting_with_its_default():
    from bliss_core.settings import SETTINGS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Settings for a shared server", 1)[1].split("\n## ", 1)[0]
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[2].strip(" `")
        for line in section.splitlines()
        if line.startswith("| `BLISS_")
    }
    shared = [s for s in SETTINGS.values() if s.shared_server]
    assert {"BLISS_DATA_ROOT", "BLISS_MAX_BUNDLE_MB", "BLISS_CACHE_SHARED"} <= {s.name for s in shared}
    for s in shared:
        assert s.name in rows, s.name
        if isinstance(s.default, bool):
            assert rows[s.name] == str(int(s.default))
        elif isinstance(s.default, (int, float)):
            assert float(rows[s.name]) == float(s.default), s.name
    assert SETTINGS["BLISS_MAX_BUNDLE_MB"].default <= 1024 and not SETTINGS["BLISS_DATA_ROOT"].default


# -- every Markdown sink in the app gets text it wrote itself, numbers, or escaped data ------------
_SINKS = {
    "markdown",
    "caption",
    "info",
    "warning",
    "error",
    "success",
    "toast",
    "write",
    "subheader",
    "header",
    "title",
}
#: widgets, whose labels Streamlit also renders as Markdown
_SINKS |= {
    "button",
    "download_button",
    "checkbox",
    "toggle",
    "radio",
    "selectbox",
    "multiselect",
    "slider",
    "select_slider",
    "text_input",
    "text_area",
    "number_input",
    "file_uploader",
    "expander",
    "metric",
    "link_button",
    "popover",
    "tabs",
}
#: calls whose result is safe in Markdown: escapers, and sentences the app builds from numbers
_SAFE_CALLS = {
    "md_escape",
    "display",
    "normal_label",
    "len",
    "int",
    "float",
    "round",
    "upload_limits_text",
    "upload_limit_mb",
    "caveat",
    "clustering_finding",
    "dictionary_finding",
    "error_curves_finding",
    "gain_finding",
    "knn_finding",
    "join",
    "pop",
    "get",
}
#: names that hold the app's own sentences or numbers, per file (reviewed)
_SAFE_NAMES = {
    "*": {
        "finding",
        "caption",
        "title",
        "what",
        "side",
        "arch",
        "kmax",
        "changed",
        "i",
        "step",
        "tpr",
        "lam",
        "topk",
        "DEFAULT_PROMPT",
        "PRESENTER_ROWS",
        "max_boxes",
        "sampled",
        "KEY",
        "STEPS",
        "v",
        "k",
        "plural",
        "f",
        "findings",
        "counts",
        "c",
        "b",
        "normal",
        "cfg",
        "sample",
        "n_bins",
        "ss",
        "sim_finding",
        "err_finding",
    },
    "share.py": {"why"},
    "frame.py": {
        "name",
        "label",
    },  # download_figure's file stem and the statistics' labels: the pages' literals
    "state.py": {"label"},
}  # sim_knob's label: the pages' literals


def _markdown_safe(node, names) -> bool:
    import ast

    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(_markdown_safe(v, names) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return node.format_spec is not None or _markdown_safe(node.value, names)
    if isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else (f.attr if isinstance(f, ast.Attribute) else "")
        if name in ("join",):
            return all(_markdown_safe(a, names) for a in node.args)
        return name in _SAFE_CALLS
    if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
        return _markdown_safe(node.elt, names)
    if isinstance(node, ast.BinOp):
        return _markdown_safe(node.left, names) and _markdown_safe(node.right, names)
    if isinstance(node, ast.IfExp):
        return _markdown_safe(node.body, names) and _markdown_safe(node.orelse, names)
    if isinstance(node, ast.Subscript):
        return _markdown_safe(node.value, names)
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, ast.Name) and node.value.id in names and node.attr in ("dict_names",)
    if isinstance(node, ast.Name):
        return node.id in names
    return False


def test_markdown_sinks_get_no_raw_data():
    """A class of bug, not one instance: an upload's file name or an exception text passed straight
    to st.error/st.warning/st.caption/... renders as Markdown. Every such call in the app must pass
    a literal, numbers, or a string through md_escape/display (or a reviewed name of the app's own)."""
    import ast

    root = Path(__file__).resolve().parents[1]
    files = [
        root / "app.py",
        *sorted((root / "pages").glob("*.py")),
        *sorted((root / "bliss_core" / "app").glob("*.py")),
    ]
    bad = []
    for path in files:
        names = _SAFE_NAMES["*"] | _SAFE_NAMES.get(path.name, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _SINKS
                and node.args
                and not _markdown_safe(node.args[0], names)
            ):
                bad.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)[:120]}")
    assert not bad, "data may reach Markdown unescaped:\n" + "\n".join(bad)
