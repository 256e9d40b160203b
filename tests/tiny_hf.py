"""Tiny randomly initialised Hugging Face models (CLIP, SigLIP, BLIP retrieval) for tests.

Each is written with ``save_pretrained`` into a folder together with a word-level tokenizer
built here (the ``tokenizers`` library, wrapped in ``PreTrainedTokenizerFast``) and an image
processor, so ``--model hf:FOLDER`` loads it offline. Nothing is downloaded. The configs carry
``"bliss_untrained": true``, so every bundle made from them is labelled untrained.
"""

from __future__ import annotations

from pathlib import Path

WORDS = [
    "this",
    "is",
    "a",
    "photo",
    "of",
    "the",
    "an",
    "cat",
    "dog",
    "airplane",
    "goldfish",
    "tower",
    "ship",
    "truck",
    "bad",
    "sculpture",
    "many",
    "rendering",
    "graffiti",
    "tattoo",
    "drawing",
    "close-up",
]
SPECIALS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]


def tokenizer(max_length: int = 16):
    """A lower-casing word-level tokenizer that wraps each text in [BOS] ... [EOS]."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(SPECIALS + list(dict.fromkeys(WORDS)))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[("[BOS]", 2), ("[EOS]", 3)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="[BOS]",
        eos_token="[EOS]",
        pad_token="[PAD]",
        unk_token="[UNK]",
        model_max_length=max_length,
    )


def _towers(vocab_size: int) -> tuple[dict, dict]:
    text = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=16,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
    )
    vision = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
    )
    return text, vision


def write_tiny_hf(folder: Path, kind: str = "clip", seed: int = 0) -> Path:
    """Write a tiny random ``kind`` model (clip, siglip or blip) into ``folder``; returns it."""
    import torch
    import transformers as T

    tok = tokenizer()
    text, vision = _towers(len(tok))
    torch.manual_seed(seed)
    if kind == "clip":
        cfg = T.CLIPConfig(text_config=text, vision_config=vision, projection_dim=24, bliss_untrained=True)
        model = T.CLIPModel(cfg)
        processor = T.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    elif kind == "siglip":
        cfg = T.SiglipConfig(text_config=text, vision_config=vision, bliss_untrained=True)
        model = T.SiglipModel(cfg)
        processor = T.SiglipImageProcessor(size={"height": 32, "width": 32})
    elif kind == "blip":
        text = {**text, "encoder_hidden_size": 32, "sep_token_id": 3}
        cfg = T.BlipConfig(
            text_config=text, vision_config=vision, image_text_hidden_size=24, bliss_untrained=True
        )
        model = T.BlipForImageTextRetrieval(cfg)
        processor = T.BlipImageProcessor(size={"height": 32, "width": 32})
    else:
        raise ValueError(kind)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def write_image_folder(root: Path, classes=("cat", "dog"), n_per: int = 2, seed: int = 0) -> Path:
    """``root/{train,test}/<class>/NNN.png``: small random RGB pictures, a real folder: source."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for c in classes:
            d = root / split / c
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n_per):
                Image.fromarray(rng.integers(0, 256, size=(20, 28, 3), dtype=np.uint8)).save(
                    d / f"{i:03d}.png"
                )
    return root
