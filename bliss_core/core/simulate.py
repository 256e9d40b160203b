"""A CLIP-like embedding space with a planted text clustering effect (the teaching mode).

The geometry follows what is published for CLIP ViT-B/32 and nothing more:

- Images lie in a cone around one axis and texts in a cone around another; the two axes are
  set apart so that, with the defaults, the *modality gap* (the distance between the mean unit
  image and the mean unit text embedding) is about 0.82 and images are about 0.47 similar to
  each other on average, the figures Liang et al. ("Mind the Gap", NeurIPS 2022) report for
  CLIP. Label prompts share one template and sit closer together than free captions (0.51 in
  that paper); the simulation puts texts at about 0.70, and the mean image-text cosine (about
  0.25) then follows from the geometry.
- Each image has a *text-likeness*: a random step towards the text cone (``text_bias`` sets its
  spread). It raises the image's similarity to every text at once, its normal label included:
  the bias BLISS corrects.
- Dictionary entries are about topics that no class uses, so an image's similarity to them says
  nothing about its class. With ``text_bias=0`` the external score therefore has nothing to
  correct, and BLISS gains nothing over the internal score (a test keeps both properties).

Nothing here is a trained model; bundles it makes carry ``"simulation": true`` in ``meta``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from ..errors import SimulationError
from .bundle import Bundle
from .splits import CIFAR10_CLASSES
from .text import DEFAULT_PROMPT

__all__ = ["CALIBRATION", "DICTIONARY_WORDS", "SimulationConfig", "make_simulated_bundle"]

#: What the defaults are calibrated to, and where the figures come from (README: "The simulation").
CALIBRATION = {
    "modality_gap": (0.82, "Liang et al. 2022, Mind the Gap, CLIP ViT-B/32 on MSCOCO"),
    "image_image": (0.47, "Liang et al. 2022, average cosine of CLIP's ViT image embeddings"),
    "text_text": (
        0.70,
        "label prompts sharing one template: tighter than free captions (0.51 in Liang et al.)",
    ),
    "image_text": (0.25, "follows from the three above: (0.47 + 0.70 - 0.82^2) / 2"),
}

_IMAGE_CONE = np.sqrt(0.47)  # |mean unit image| ~ sqrt(mean image-image cosine)
_TEXT_CONE = np.sqrt(0.70)
_COS_AXES = 0.436  # angle between the cones' axes that gives the 0.82 gap with the two above
_TAU_SCALE = 0.12  # spread of the text-likeness step at text_bias = 1

#: Real words for the simulated dictionary, none of them a CIFAR-10 class or a vehicle.
DICTIONARY_WORDS = (
    "apple",
    "apron",
    "anchor",
    "anthem",
    "arch",
    "armchair",
    "attic",
    "avocado",
    "axe",
    "backpack",
    "badge",
    "bagel",
    "bakery",
    "balcony",
    "ballet",
    "balloon",
    "bamboo",
    "banana",
    "bandage",
    "banjo",
    "bank",
    "barn",
    "barrel",
    "basket",
    "bathtub",
    "battery",
    "beach",
    "beacon",
    "beard",
    "bell",
    "belt",
    "bench",
    "bikini",
    "billboard",
    "binoculars",
    "biscuit",
    "blanket",
    "blender",
    "blossom",
    "bonnet",
    "book",
    "bookcase",
    "boot",
    "bottle",
    "boulder",
    "bow",
    "bowl",
    "box",
    "bracelet",
    "bread",
    "brick",
    "bridge",
    "broccoli",
    "broom",
    "bubble",
    "bucket",
    "buckle",
    "bulb",
    "bun",
    "bungalow",
    "butter",
    "button",
    "cabbage",
    "cabin",
    "cable",
    "cactus",
    "cafe",
    "cake",
    "calculator",
    "calendar",
    "camera",
    "campfire",
    "candle",
    "candy",
    "cannon",
    "canyon",
    "cap",
    "cape",
    "carpet",
    "carrot",
    "castle",
    "cathedral",
    "cauliflower",
    "cave",
    "ceiling",
    "cello",
    "chain",
    "chair",
    "chalk",
    "chandelier",
    "cheese",
    "cherry",
    "chess",
    "chimney",
    "chisel",
    "chocolate",
    "church",
    "cinema",
    "circus",
    "city",
    "clarinet",
    "classroom",
    "cliff",
    "clock",
    "closet",
    "cloud",
    "coat",
    "coconut",
    "coffee",
    "coin",
    "comb",
    "comet",
    "compass",
    "computer",
    "cone",
    "cookie",
    "corn",
    "corridor",
    "cottage",
    "couch",
    "crayon",
    "cream",
    "crown",
    "crystal",
    "cucumber",
    "cup",
    "cupboard",
    "curtain",
    "cushion",
    "cymbal",
    "dam",
    "dance",
    "desert",
    "desk",
    "diamond",
    "dice",
    "dictionary",
    "doll",
    "dome",
    "donut",
    "door",
    "doughnut",
    "drawer",
    "dress",
    "drum",
    "dumpling",
    "dune",
    "easel",
    "eggplant",
    "elevator",
    "envelope",
    "eraser",
    "escalator",
    "fan",
    "faucet",
    "feather",
    "fence",
    "fern",
    "fiddle",
    "field",
    "fig",
    "fireplace",
    "flag",
    "flashlight",
    "flask",
    "flute",
    "fog",
    "folder",
    "forest",
    "fork",
    "fountain",
    "frame",
    "fridge",
    "fries",
    "garage",
    "garden",
    "garlic",
    "gate",
    "gazebo",
    "gem",
    "glacier",
    "glass",
    "glove",
    "glue",
    "gong",
    "grape",
    "grass",
    "greenhouse",
    "guitar",
    "hammer",
    "hammock",
    "hamburger",
    "handbag",
    "harbor",
    "harmonica",
    "harp",
    "hat",
    "hay",
    "helmet",
    "highway",
    "hill",
    "honey",
    "hook",
    "horn",
    "hose",
    "hospital",
    "hourglass",
    "house",
    "igloo",
    "island",
    "ivy",
    "jacket",
    "jam",
    "jar",
    "jeans",
    "jelly",
    "jewel",
    "jigsaw",
    "journal",
    "jug",
    "juice",
    "kettle",
    "key",
    "keyboard",
    "kimono",
    "kitchen",
    "kite",
    "knife",
    "knot",
    "ladder",
    "ladle",
    "lake",
    "lamp",
    "lantern",
    "laptop",
    "lava",
    "lawn",
    "leaf",
    "lemon",
    "lens",
    "letter",
    "lettuce",
    "library",
    "lighthouse",
    "lily",
    "lime",
    "lipstick",
    "lock",
    "locket",
    "lollipop",
    "magnet",
    "mailbox",
    "mango",
    "map",
    "maple",
    "marble",
    "market",
    "mask",
    "mattress",
    "maze",
    "meadow",
    "medal",
    "melon",
    "microphone",
    "microscope",
    "mirror",
    "mitten",
    "monument",
    "moon",
    "mop",
    "mosaic",
    "mountain",
    "muffin",
    "mug",
    "museum",
    "mushroom",
    "napkin",
    "necklace",
    "needle",
    "nest",
    "newspaper",
    "noodle",
    "notebook",
    "nut",
    "oar",
    "oasis",
    "office",
    "olive",
    "onion",
    "orange",
    "orchard",
    "organ",
    "oven",
    "paddle",
    "pagoda",
    "paint",
    "palace",
    "pan",
    "pancake",
    "paper",
    "parasol",
    "park",
    "pasta",
    "pastry",
    "path",
    "peach",
    "peanut",
    "pear",
    "pearl",
    "pebble",
    "pen",
    "pencil",
    "pepper",
    "perfume",
    "piano",
    "pickle",
    "picnic",
    "pie",
    "pier",
    "pillow",
    "pineapple",
    "pipe",
    "pizza",
    "plate",
    "plaza",
    "plum",
    "pocket",
    "pond",
    "popcorn",
    "porch",
    "postcard",
    "pot",
    "potato",
    "pottery",
    "prairie",
    "pretzel",
    "pulley",
    "pumpkin",
    "puzzle",
    "pyramid",
    "quilt",
    "racket",
    "radio",
    "radish",
    "rainbow",
    "raincoat",
    "rake",
    "raspberry",
    "razor",
    "reef",
    "ribbon",
    "rice",
    "ring",
    "river",
    "road",
    "robe",
    "rock",
    "rope",
    "rose",
    "rug",
    "ruler",
    "saddle",
    "salad",
    "salt",
    "sand",
    "sandal",
    "sandwich",
    "saucepan",
    "sausage",
    "saxophone",
    "scarf",
    "school",
    "scissors",
    "screen",
    "screw",
    "sculpture",
    "seashell",
    "shawl",
    "shed",
    "shelf",
    "shield",
    "shirt",
    "shoe",
    "shovel",
    "shower",
    "sink",
    "skirt",
    "sky",
    "skyscraper",
    "slipper",
    "soap",
    "sock",
    "sofa",
    "soup",
    "spatula",
    "spice",
    "spinach",
    "sponge",
    "spoon",
    "squash",
    "stadium",
    "staircase",
    "stamp",
    "stapler",
    "statue",
    "steak",
    "stone",
    "stool",
    "stove",
    "strawberry",
    "street",
    "sugar",
    "suitcase",
    "sunflower",
    "sunglasses",
    "sushi",
    "sweater",
    "swing",
    "sword",
    "syrup",
    "table",
    "tablet",
    "taco",
    "tambourine",
    "tea",
    "teapot",
    "telescope",
    "temple",
    "tent",
    "theater",
    "thimble",
    "thread",
    "throne",
    "ticket",
    "tie",
    "tile",
    "toaster",
    "tomato",
    "toothbrush",
    "torch",
    "tower",
    "towel",
    "toy",
    "trail",
    "tray",
    "tree",
    "trombone",
    "trophy",
    "trumpet",
    "tulip",
    "tunnel",
    "turnip",
    "typewriter",
    "umbrella",
    "valley",
    "vase",
    "velvet",
    "village",
    "vinegar",
    "violin",
    "volcano",
    "waffle",
    "wall",
    "wallet",
    "wardrobe",
    "watch",
    "waterfall",
    "watermelon",
    "well",
    "wheat",
    "wheel",
    "whistle",
    "window",
    "windmill",
    "wine",
    "wok",
    "wool",
    "workshop",
    "wreath",
    "xylophone",
    "yarn",
    "yogurt",
    "zipper",
)


@dataclass(frozen=True)
class SimulationConfig:
    """Knobs of the simulated space.

    ``text_bias``: spread of the images' text-likeness (0: no bias for BLISS to correct).
    ``modality_gap``: how far the text cone sits from the images (2: calibrated to CLIP
    ViT-B/32; 0: texts inside the image cone, not clustered apart). ``class_signal`` and
    ``noise``: how strongly images carry their class, and how much else they carry.
    """

    n_classes: int = 10
    train_per_class: int = 200
    test_per_class: int = 100
    n_dict: int = 400
    dim: int = 64
    text_bias: float = 1.0
    modality_gap: float = 2.0
    class_signal: float = 0.4
    noise: float = 1.0
    seed: int = 0


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _dictionary_names(n: int) -> list[str]:
    words = list(DICTIONARY_WORDS)
    return [words[j % len(words)] + ("" if j < len(words) else f" {j // len(words) + 1}") for j in range(n)]


def make_simulated_bundle(config: SimulationConfig | None = None, **overrides) -> Bundle:
    """Generate a bundle of synthetic image, label and dictionary embeddings."""
    cfg = config or SimulationConfig()
    if overrides:
        unknown = sorted(set(overrides) - {f.name for f in fields(SimulationConfig)})
        if unknown:
            raise SimulationError(f"unknown simulation knob(s) {', '.join(unknown)}.")
        cfg = SimulationConfig(**{**asdict(cfg), **overrides})
    if cfg.n_classes < 2:
        raise SimulationError("the simulation needs at least two classes.")
    if cfg.dim < cfg.n_classes + 4:
        raise SimulationError(f"dim must be at least n_classes + 4 ({cfg.n_classes + 4}).")
    if min(cfg.train_per_class, cfg.test_per_class, cfg.n_dict) < 1:
        raise SimulationError(
            "the simulation needs at least one reference image, test image and dictionary entry."
        )
    for name in ("text_bias", "modality_gap", "class_signal", "noise"):
        value = getattr(cfg, name)
        if not np.isfinite(value) or value < 0:
            raise SimulationError(f"{name} must be a finite number >= 0, got {value}.")
    rng = np.random.default_rng(cfg.seed)
    basis, _ = np.linalg.qr(rng.standard_normal((cfg.dim, cfg.dim)))
    e_img, e_side = basis[:, 0], basis[:, 1]
    class_dirs = basis[:, 2 : 2 + cfg.n_classes].T
    free = basis[:, 2 + cfg.n_classes :].T  # directions no class uses: the dictionary's topics
    rest = basis[:, 2:].T  # everything but the two cone axes

    # The text cone: its axis turns away from the images' and tightens as the gap grows.
    g = cfg.modality_gap / 2.0
    text_cone = min(0.95, _IMAGE_CONE + (_TEXT_CONE - _IMAGE_CONE) * g)
    angle = min(np.deg2rad(85.0), np.arccos(_COS_AXES) * g)
    u_txt = np.cos(angle) * e_img + np.sin(angle) * e_side

    def spread(n: int, scale: float) -> np.ndarray:
        return scale * _unit(rng.standard_normal((n, rest.shape[0])) @ rest)

    label_content = _unit(class_dirs + spread(cfg.n_classes, 0.25))
    class_text = text_cone * u_txt + np.sqrt(1 - text_cone**2) * label_content
    topics = _unit(rng.standard_normal((cfg.n_dict, free.shape[0])) @ free)
    dict_text = text_cone * u_txt + np.sqrt(1 - text_cone**2) * _unit(topics + spread(cfg.n_dict, 0.25))

    per_class = cfg.train_per_class + cfg.test_per_class
    labels = np.repeat(np.arange(cfg.n_classes), per_class)
    is_train = np.tile(
        np.r_[np.ones(cfg.train_per_class, bool), np.zeros(cfg.test_per_class, bool)], cfg.n_classes
    )
    n = labels.size
    content = _unit(cfg.class_signal * class_dirs[labels] + spread(n, cfg.noise))
    text_likeness = _TAU_SCALE * cfg.text_bias * rng.standard_normal(n)
    images = _unit(
        _IMAGE_CONE * e_img
        + text_likeness[:, None] * e_side
        + np.sqrt(np.clip(1 - _IMAGE_CONE**2 - text_likeness**2, 0.05, None))[:, None] * content
    )

    if cfg.n_classes <= len(CIFAR10_CLASSES):
        class_names = CIFAR10_CLASSES[: cfg.n_classes]
    else:
        class_names = [f"class {i}" for i in range(cfg.n_classes)]
    ids = [
        f"sim/{'train' if t else 'test'}/{class_names[l]}/{i:05d}"
        for i, (l, t) in enumerate(zip(labels, is_train))
    ]
    meta = {
        "simulation": True,
        "model": "simulation",
        "pretrained": "none",
        "dataset": "simulated",
        "dictionary": "built-in word list (unrelated to the classes)",
        "prompt": DEFAULT_PROMPT,
        "config": asdict(cfg),
        "note": "Synthetic embeddings with a planted text clustering effect; no model was run.",
    }
    return Bundle(
        image_emb=images.astype(np.float32),
        image_label=labels.astype(np.int64),
        image_is_train=is_train,
        class_names=class_names,
        class_text_emb=class_text.astype(np.float32),
        dict_names=_dictionary_names(cfg.n_dict),
        dict_text_emb=dict_text.astype(np.float32),
        meta=meta,
        image_id=ids,
        owned=True,
    )
