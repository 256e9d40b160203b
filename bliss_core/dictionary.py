"""Text dictionaries for the external (bias-correction) score.

The default dictionary is the ImageNet-1k class names with their synonyms, one entry per
synonym (1,860 entries, 1,842 distinct), as the published BLISS script uses. It is derived at
run time from the synset files that ship with :mod:`timm`, found without importing timm (and
therefore without importing torch).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Iterable

__all__ = ["DictionaryError", "imagenet_dictionary", "load_dictionary"]

_SYNSETS = "imagenet_synsets.txt"
_LEMMAS = "imagenet_synset_to_lemma.txt"


class DictionaryError(ValueError):
    """A dictionary could not be found or read. The message is one sentence."""


def _timm_info_dir() -> Path:
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise DictionaryError(
            "The ImageNet dictionary needs the timm package (installed with open_clip_torch); "
            "install it or pass --dictionary FILE."
        )
    for loc in spec.submodule_search_locations:
        info = Path(loc) / "data" / "_info"
        if (info / _SYNSETS).is_file() and (info / _LEMMAS).is_file():
            return info
    raise DictionaryError(
        f"timm is installed but its {_SYNSETS} / {_LEMMAS} files were not found; "
        "reinstall timm or pass --dictionary FILE."
    )


def imagenet_dictionary() -> list[str]:
    """ImageNet-1k class names with synonyms, in class-index order, one entry per synonym."""
    info = _timm_info_dir()
    synsets = [ln.strip() for ln in (info / _SYNSETS).read_text(encoding="utf-8").splitlines() if ln.strip()]
    lemmas: dict[str, str] = {}
    for ln in (info / _LEMMAS).read_text(encoding="utf-8").splitlines():
        if "\t" in ln:
            wnid, names = ln.split("\t", 1)
            lemmas[wnid.strip()] = names.strip()
    if len(synsets) != 1000:
        raise DictionaryError(f"{info / _SYNSETS} lists {len(synsets)} synsets, expected 1000.")
    entries: list[str] = []
    for wnid in synsets:
        if wnid not in lemmas:
            raise DictionaryError(f"{info / _LEMMAS} has no names for synset {wnid}.")
        entries.extend(name.strip() for name in lemmas[wnid].split(", ") if name.strip())
    return entries


def _read_file(path: Path) -> list[str]:
    if not path.exists():
        raise DictionaryError(f"{path}: no such dictionary file (use 'imagenet' or a text file with one entry per line).")
    if path.is_dir():
        raise DictionaryError(f"{path}: is a folder, not a dictionary file.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DictionaryError(f"{path}: is not a UTF-8 text file.") from None
    except OSError as exc:
        raise DictionaryError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    entries = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not entries:
        raise DictionaryError(f"{path}: the dictionary file has no entries.")
    return entries


def load_dictionary(spec: str | os.PathLike = "imagenet", exclude: Iterable[str] | None = None) -> list[str]:
    """Return dictionary entries for ``spec``: ``"imagenet"`` or a text file (one entry a line).

    Blank lines are ignored and order (and duplicates) are kept, as in the published script.
    ``exclude`` drops entries equal (case-insensitively) to any of the given strings, e.g. the
    normal class names; it is off by default because the published script keeps them.
    """
    if str(spec).strip().lower() == "imagenet":
        entries = imagenet_dictionary()
        where = "imagenet"
    else:
        entries = _read_file(Path(spec).expanduser())
        where = str(spec)
    if exclude:
        drop = {str(e).strip().lower() for e in exclude}
        entries = [e for e in entries if e.lower() not in drop]
        if not entries:
            raise DictionaryError(f"{where}: no dictionary entries are left after excluding the class names.")
    return entries
