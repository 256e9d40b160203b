"""Embedding: models (open_clip, and Hugging Face transformers as an extra), image sources and
safe decoding, text dictionaries and prompts, the content-keyed embedding cache and the
pipeline that turns a dataset into a bundle.

torch, open_clip and transformers are imported here and in :mod:`bliss_core.scale` only, and
only when a function that needs them runs: importing ``bliss_core.embed.dictionary`` to list a
dictionary imports no torch.
"""
