"""Scale-out: the Ray Data embedding engine and the torch scoring backend (GPU when present).

Optional extras live here so that the scoring core stays numpy-only and the app and the CLI
work without them.
"""
