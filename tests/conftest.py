"""Shared fixtures: small random bundles built in the test, and the optional shared data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from bliss_core.core.bundle import Bundle

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BLISS_SHARED_DATA", REPO.parent / "shared" / "data"))
CIFAR10_ZIP = SHARED_DATA / "cifar10.zip"


def random_bundle(
    seed: int = 0, n_classes: int = 4, n_train: int = 12, n_test: int = 8, dim: int = 16, n_dict: int = 30
) -> Bundle:
    """A tiny bundle of random (unnormalised) embeddings."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_train + n_test)
    is_train = np.tile(np.r_[np.ones(n_train, bool), np.zeros(n_test, bool)], n_classes)
    return Bundle(
        image_emb=rng.standard_normal((labels.size, dim)).astype(np.float32) * 3,
        image_label=labels,
        image_is_train=is_train,
        class_names=[f"class{i}" for i in range(n_classes)],
        class_text_emb=rng.standard_normal((n_classes, dim)).astype(np.float32),
        dict_names=[f"word{j}" for j in range(n_dict)],
        dict_text_emb=rng.standard_normal((n_dict, dim)).astype(np.float32),
        meta={"model": "random-test"},
        image_id=[f"img{i}" for i in range(labels.size)],
    )


@pytest.fixture
def small_bundle() -> Bundle:
    return random_bundle()


@pytest.fixture
def cifar10_zip() -> Path:
    if not CIFAR10_ZIP.exists():
        pytest.skip("../shared/data/cifar10.zip is not available")
    return CIFAR10_ZIP
