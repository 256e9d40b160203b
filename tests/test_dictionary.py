"""The ImageNet dictionary and dictionary files."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bliss_core.embed.dictionary import DictionaryError, imagenet_dictionary, load_dictionary


def test_imagenet_dictionary_counts_and_order():
    d = imagenet_dictionary()
    assert len(d) == 1860
    assert len(set(d)) == 1842
    assert d[:3] == ["tench", "Tinca tinca", "goldfish"]
    assert all(e == e.strip() and e for e in d)
    assert load_dictionary("imagenet") == d
    assert load_dictionary("ImageNet") == d


def test_imagenet_dictionary_does_not_import_torch():
    code = "import sys; from bliss_core.embed.dictionary import imagenet_dictionary as f; f(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_dictionary_file(tmp_path):
    p = tmp_path / "words.txt"
    p.write_text("\ufeffcat\n\n  dog  \nfish\ncat\n", encoding="utf-8")
    assert load_dictionary(str(p)) == ["cat", "dog", "fish", "cat"]


@pytest.mark.parametrize("content, what", [(None, "no such dictionary file"), ("\n \n", "has no entries")])
def test_dictionary_file_errors(tmp_path, content, what):
    p = tmp_path / "d.txt"
    if content is not None:
        p.write_text(content)
    with pytest.raises(DictionaryError, match=what):
        load_dictionary(str(p))


def test_dictionary_folder_and_binary(tmp_path):
    with pytest.raises(DictionaryError, match="folder"):
        load_dictionary(str(tmp_path))
    b = tmp_path / "b.txt"
    b.write_bytes(b"\xff\xfe\x00\x81bad")
    with pytest.raises(DictionaryError, match="UTF-8"):
        load_dictionary(str(b))


# -- bliss dictionary NAME|FILE ----------------------------------------------------------------
def _timm_info():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("timm")
    if spec is None:
        pytest.skip("timm is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "_info"


def test_cli_dictionary_imagenet_prints_1860_lines(capsys):
    from bliss_core.cli import main

    assert main(["dictionary", "imagenet"]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == 1860
    assert lines[:3] == ["tench", "Tinca tinca", "goldfish"]


def test_cli_dictionary_imagenet21k_count_follows_the_rule(capsys):
    """The count computed here from timm's files: every synset of imagenet22k_synsets.txt, its
    lemmas split at commas and stripped, entries equal ignoring case kept once."""
    from bliss_core.cli import main

    info = _timm_info()
    lemmas = {}
    for line in (info / "imagenet_synset_to_lemma.txt").read_text(encoding="utf-8").splitlines():
        wnid, _, names = line.partition("\t")
        lemmas[wnid.strip()] = names
    distinct = set()
    for wnid in (info / "imagenet22k_synsets.txt").read_text(encoding="utf-8").split():
        distinct.update(n.strip().casefold() for n in lemmas.get(wnid, "").split(",") if n.strip())
    assert main(["dictionary", "imagenet21k"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(distinct) > 10_000
    assert len({ln.casefold() for ln in lines}) == len(lines)


def test_cli_dictionary_file_escapes_control_characters(tmp_path, capsys):
    from bliss_core.cli import main

    p = tmp_path / "words.txt"
    p.write_text("cat\n\x1b[31mred\u202eevil\n\n dog \n", encoding="utf-8")
    assert main(["dictionary", str(p)]) == 0
    assert capsys.readouterr().out == "cat\n\\x1b[31mred\\u202eevil\ndog\n"
    assert main(["dictionary", str(tmp_path / "none.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bliss: error: ") and err.count("\n") == 1


def test_cli_dictionary_into_a_closed_pipe_is_quiet(tmp_path):
    """`bliss dictionary imagenet21k | head -1`: one line, no traceback, no torch."""
    code = (
        "import sys; from bliss_core.cli import main; rc = main(['dictionary', 'imagenet21k']); "
        "sys.stderr.write('torch' if 'torch' in sys.modules else ''); sys.exit(rc)"
    )
    proc = subprocess.run(
        f'{sys.executable} -c "{code}" | head -n 1', shell=True, capture_output=True, text=True, check=True
    )
    assert len(proc.stdout.splitlines()) == 1
    assert proc.stderr == "", proc.stderr
