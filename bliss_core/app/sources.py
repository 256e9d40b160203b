"""Where the session's bundle comes from: the simulation, a bundle file the operator named
(``BLISS_BUNDLE``), an uploaded bundle, or embeddings a model made in this session.

:func:`current` is the one way a page gets its bundle. Bundles are cached per process and keyed
by content, so sessions on the same bundle share one copy in memory.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass

import streamlit as st

from .. import settings
from ..core.bundle import Bundle, load_bundle
from ..errors import AppError, BundleError
from . import thumbnails as T
from .state import sim_params

CACHE_TTL = settings.get("BLISS_CACHE_TTL_S")


@dataclass
class Current:
    bundle: Bundle
    key: str  # identifies the bundle content for caches
    kind: str  # simulation | bundle_file | bundle_upload | model
    label: str  # short human description


def content_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def env_bundles() -> list[str]:
    """The bundle files the operator named in ``BLISS_BUNDLE`` (several separated by ``os.pathsep``)."""
    raw = settings.get("BLISS_BUNDLE")
    return [p.strip() for p in raw.split(os.pathsep) if p.strip()]


def env_source() -> dict:
    """The source a new session starts with: the first ``BLISS_BUNDLE`` file, else the simulation."""
    files = env_bundles()
    return {"kind": "bundle_file", "path": files[0]} if files else {"kind": "simulation"}


@st.cache_resource(max_entries=6, ttl=CACHE_TTL, show_spinner=False)
def _sim_bundle(params_json: str) -> Bundle:
    from ..core.simulate import make_simulated_bundle

    p = json.loads(params_json)
    return make_simulated_bundle(
        text_bias=float(p["text_bias"]),
        modality_gap=float(p["modality_gap"]),
        class_signal=float(p["class_signal"]),
        noise=float(p["noise"]),
        seed=int(p["seed"]),
        test_per_class=int(p["test_per_class"]),
    )


def simulation(params: dict | None = None) -> Current:
    """The simulation with ``params`` (the session's knobs when None)."""
    pj = json.dumps(params or sim_params(), sort_keys=True)
    return Current(_sim_bundle(pj), "sim:" + pj, "simulation", "simulation")


@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def _file_bundle(path: str, mtime_ns: int, size: int) -> Bundle:
    return load_bundle(path)


def bundle_file(path: str) -> Current:
    """A bundle file the operator named; raises :class:`AppError` when it cannot be used."""
    try:
        stt = os.stat(path)
    except OSError:
        raise AppError(
            f"BLISS_BUNDLE={path}: no such file. Fix the path or choose another data source on the home page."
        ) from None
    try:
        b = _file_bundle(path, stt.st_mtime_ns, stt.st_size)
    except BundleError as exc:
        raise AppError(str(exc)) from None
    return Current(
        b,
        f"file:{path}:{stt.st_mtime_ns}:{stt.st_size}",
        "bundle_file",
        f"bundle file {os.path.basename(path)}",
    )


def load_bundle_upload(name: str, data: bytes) -> Bundle:
    """Validate and load an uploaded ``.npz`` bundle held in memory; raises :class:`AppError`.

    Its declared array sizes are checked against ``BLISS_MAX_BUNDLE_MB`` before anything is
    decompressed; nothing is written to disk.
    """
    max_upload = settings.get("BLISS_MAX_UPLOAD_MB")
    if not name.lower().endswith(".npz"):
        raise AppError(f"{name}: a bundle must be an .npz file written by `bliss embed`.")
    if len(data) > max_upload * 1024**2:
        raise AppError(f"{name}: {len(data) / 1024**2:.0f} MB is above the {max_upload:g} MB upload limit.")
    if not data:
        raise AppError(f"{name}: the file is empty.")
    buf = io.BytesIO(data)
    buf.name = name
    try:
        return load_bundle(buf, max_mb=settings.get("BLISS_MAX_BUNDLE_MB"))
    except BundleError as exc:
        raise AppError(str(exc)) from None


def current() -> Current:
    """The session's bundle. Raises :class:`AppError` with a friendly message on failure."""
    ss = st.session_state
    src = ss.get("source") or {"kind": "simulation"}
    kind = src.get("kind", "simulation")
    if kind == "bundle_file":
        cur = bundle_file(src.get("path", ""))
        T.use_reader(T.bundle_images(str(cur.bundle.meta.get("dataset", ""))))
        return cur
    if kind == "bundle_upload":
        b = ss.get("uploaded_bundle")
        if b is None:
            raise AppError("no bundle uploaded yet; upload one on the home page.")
        T.use_reader(None)  # its paths name another machine's files, or anyone's on this one
        return Current(b, f"upload:{src.get('sha')}", kind, f"uploaded bundle {src.get('name', '')}")
    if kind == "model":
        b = ss.get("model_bundle")
        if b is None:
            raise AppError("no embeddings yet: on the home page, press 'Embed' to run the model on the data.")
        T.use_reader(ss.get("model_thumb_reader"))
        key = f"model:{src.get('key')}"
        if ss.get("label_text"):  # the user's wording for some classes, re-encoded by the model
            from .models import reworded

            b, key = reworded(b, key, ss["label_text"])
        return Current(b, key, kind, b.describe())
    T.use_reader(None)  # the simulation has no pictures
    return simulation()
