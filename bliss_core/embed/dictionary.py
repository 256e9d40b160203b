"""Text dictionaries for the external (bias-correction) score.

Built-in dictionaries are derived at run time from the synset tables that ship with
:mod:`timm` (installed with open_clip), found without importing timm or torch:

- ``imagenet``: the ImageNet-1k class names with their synonyms, one entry per synonym, in
  class order (1,860 entries, 1,842 distinct), as the published BLISS script uses.
- ``imagenet21k``: for every synset of ``imagenet22k_synsets.txt``, in file order, its lemmas
  split at commas and stripped; of entries equal ignoring case only the first is kept.

Anything else is a text file with one entry per line (blank lines ignored, order and
duplicates kept, as in the published script).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ..errors import DictionaryError
from ..files import read_regular

__all__ = ["BUILTIN", "DictionaryError", "imagenet21k_dictionary", "imagenet_dictionary", "load_dictionary"]

_SYNSETS_1K = "imagenet_synsets.txt"
_SYNSETS_22K = "imagenet22k_synsets.txt"
_LEMMAS = "imagenet_synset_to_lemma.txt"
MAX_DICTIONARY_BYTES = 16 * 1024**2


def _timm_info_dir(*files: str) -> Path:
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise DictionaryError(
            "The built-in dictionaries need the timm package (installed with open_clip_torch); "
            "install it or pass --dictionary FILE."
        )
    for loc in spec.submodule_search_locations:
        info = Path(loc) / "data" / "_info"
        if all((info / f).is_file() for f in files):
            return info
    raise DictionaryError(
        f"timm is installed but its {' / '.join(files)} files were not found; reinstall timm or pass --dictionary FILE."
    )


def _lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _lemmas(info: Path) -> dict[str, str]:
    table: dict[str, str] = {}
    for ln in (info / _LEMMAS).read_text(encoding="utf-8").splitlines():
        if "\t" in ln:
            wnid, names = ln.split("\t", 1)
            table[wnid.strip()] = names.strip()
    return table


def imagenet_dictionary() -> list[str]:
    """ImageNet-1k class names with synonyms, in class-index order, one entry per synonym."""
    info = _timm_info_dir(_SYNSETS_1K, _LEMMAS)
    synsets = _lines(info / _SYNSETS_1K)
    if len(synsets) != 1000:
        raise DictionaryError(f"{info / _SYNSETS_1K} lists {len(synsets)} synsets, expected 1000.")
    lemmas = _lemmas(info)
    entries: list[str] = []
    for wnid in synsets:
        if wnid not in lemmas:
            raise DictionaryError(f"{info / _LEMMAS} has no names for synset {wnid}.")
        entries.extend(name.strip() for name in lemmas[wnid].split(", ") if name.strip())
    return entries


def imagenet21k_dictionary() -> list[str]:
    """The lemmas of every ImageNet-21k synset in timm's ``imagenet22k_synsets.txt`` order,
    split at commas and stripped; entries equal ignoring case are kept once (the first)."""
    info = _timm_info_dir(_SYNSETS_22K, _LEMMAS)
    lemmas = _lemmas(info)
    seen: set[str] = set()
    entries: list[str] = []
    for wnid in _lines(info / _SYNSETS_22K):
        for name in lemmas.get(wnid, "").split(","):
            name = name.strip()
            if name and name.casefold() not in seen:
                seen.add(name.casefold())
                entries.append(name)
    return entries


#: Built-in dictionaries by name.
BUILTIN = {"imagenet": imagenet_dictionary, "imagenet21k": imagenet21k_dictionary}


def _read_file(path: Path) -> list[str]:
    if not path.exists():
        raise DictionaryError(
            f"{path}: no such dictionary file (use {', '.join(BUILTIN)} or a text file with one "
            "entry per line)."
        )
    if path.is_dir():
        raise DictionaryError(f"{path}: is a folder, not a dictionary file.")
    try:
        data = read_regular(path, MAX_DICTIONARY_BYTES)
    except OSError as exc:
        raise DictionaryError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc}).") from None
    if len(data) > MAX_DICTIONARY_BYTES:
        raise DictionaryError(
            f"{path}: larger than {MAX_DICTIONARY_BYTES // 1024**2} MB; is it a dictionary?"
        )
    return entries_from_text(data, str(path))


def entries_from_text(data: bytes | str, where: str = "dictionary") -> list[str]:
    """Entries of a dictionary text (one per line, blank lines ignored); raise on none."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise DictionaryError(f"{where}: is not a UTF-8 text file.") from None
    entries = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not entries:
        raise DictionaryError(f"{where}: the dictionary file has no entries.")
    return entries


def load_dictionary(spec: str | os.PathLike = "imagenet") -> list[str]:
    """The entries of ``spec``: a built-in name (``imagenet``, ``imagenet21k``) or a text file."""
    name = str(spec).strip()
    if name.lower() in BUILTIN:
        return BUILTIN[name.lower()]()
    return _read_file(Path(name).expanduser())
