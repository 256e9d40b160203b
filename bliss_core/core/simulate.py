"""A CLIP-like embedding space with a planted text clustering effect (the teaching mode).

Every text embedding (class labels and dictionary entries) shares a strong common "text"
direction, so texts cluster tightly, far from the images (the modality gap). Each image gets
its own random amount of that text direction, its *text-likeness*: it raises the image's
similarity to every text at once, the normal label included. That is exactly the bias BLISS
removes: anomalies that happen to be text-like look normal (false negatives) and normal
images that are far from all text look anomalous (false positives).

Nothing here is a trained model; bundles it makes carry ``"simulation": true`` in ``meta``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import SimulationError
from .bundle import Bundle
from .splits import CIFAR10_CLASSES


@dataclass(frozen=True)
class SimulationConfig:
    """Knobs of the simulated space. ``text_bias`` is the strength of the planted effect."""

    n_classes: int = 10
    train_per_class: int = 200
    test_per_class: int = 100
    n_dict: int = 400
    dim: int = 64
    text_bias: float = 1.0  # spread of the images' text-likeness (0 = no effect)
    modality_gap: float = 2.0  # how far the text cluster sits from the images
    class_signal: float = 0.6  # how strongly images and labels carry their class
    noise: float = 1.0  # per-image isotropic noise
    seed: int = 0


def make_simulated_bundle(config: SimulationConfig | None = None, **overrides) -> Bundle:
    """Generate a bundle of synthetic image, label and dictionary embeddings."""
    cfg = config or SimulationConfig()
    if overrides:
        cfg = SimulationConfig(**{**asdict(cfg), **overrides})
    if cfg.n_classes < 2:
        raise SimulationError("the simulation needs at least two classes.")
    if cfg.dim < cfg.n_classes + 4:
        raise SimulationError(f"dim must be at least n_classes + 4 ({cfg.n_classes + 4}).")
    rng = np.random.default_rng(cfg.seed)
    basis, _ = np.linalg.qr(rng.standard_normal((cfg.dim, cfg.dim)))
    u_img, u_txt = basis[:, 0], basis[:, 1]
    class_dirs = basis[:, 2 : 2 + cfg.n_classes].T  # [C, D]
    free = basis[:, 2 + cfg.n_classes :].T  # directions no class uses

    def noise(n: int, scale: float) -> np.ndarray:
        return scale * rng.standard_normal((n, cfg.dim)) / np.sqrt(cfg.dim)

    # Text: a strong shared text direction + what the text is about + a little noise.
    text_common = 1.5 * cfg.modality_gap
    class_text = text_common * u_txt + 1.0 * class_dirs + noise(cfg.n_classes, 0.3)
    # Dictionary entries are about mixtures of class concepts and unrelated concepts.
    mix = rng.standard_normal((cfg.n_dict, cfg.n_classes)) * 0.5
    mix[np.arange(cfg.n_dict), rng.integers(0, cfg.n_classes, cfg.n_dict)] += 0.8
    topic = mix @ class_dirs + rng.standard_normal((cfg.n_dict, free.shape[0])) @ free * (0.8 / np.sqrt(free.shape[0]))
    dict_text = text_common * u_txt + topic + noise(cfg.n_dict, 0.3)

    per_class = cfg.train_per_class + cfg.test_per_class
    labels = np.repeat(np.arange(cfg.n_classes), per_class)
    is_train = np.tile(np.r_[np.ones(cfg.train_per_class, bool), np.zeros(cfg.test_per_class, bool)], cfg.n_classes)
    n = labels.size
    text_likeness = cfg.text_bias * rng.standard_normal(n)
    images = (
        0.75 * cfg.modality_gap * u_img
        + cfg.class_signal * class_dirs[labels]
        + 0.35 * text_likeness[:, None] * u_txt
        + noise(n, cfg.noise)
        + (rng.standard_normal((n, free.shape[0])) @ free) * (0.4 * cfg.noise / np.sqrt(free.shape[0]))
    )
    # Text-likeness also pulls images towards the dictionary's topics in general.
    images += 0.15 * text_likeness[:, None] * (dict_text.mean(axis=0) - text_common * u_txt)

    if cfg.n_classes <= len(CIFAR10_CLASSES):
        class_names = CIFAR10_CLASSES[: cfg.n_classes]
    else:
        class_names = [f"class {i}" for i in range(cfg.n_classes)]
    dict_names = [f"concept {j:03d}" for j in range(cfg.n_dict)]
    ids = [f"sim/{'train' if t else 'test'}/{class_names[l]}/{i:05d}" for i, (l, t) in enumerate(zip(labels, is_train))]
    meta = {
        "simulation": True,
        "model": "simulation",
        "pretrained": "none",
        "dataset": "simulated",
        "config": asdict(cfg),
        "note": "Synthetic embeddings with a planted text clustering effect; no model was run.",
    }
    return Bundle(
        image_emb=images.astype(np.float32),
        image_label=labels.astype(np.int64),
        image_is_train=is_train,
        class_names=class_names,
        class_text_emb=class_text.astype(np.float32),
        dict_names=dict_names,
        dict_text_emb=dict_text.astype(np.float32),
        meta=meta,
        image_id=ids,
    )
