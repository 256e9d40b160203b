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
