"""Dictionary text encoding: the trimmed context of ``bliss_core.embed.models`` against
open_clip's ``encode_text`` over the full 77-token context, on the same prompts.

    python benchmarks/text_encoding.py [--model ViT-B-32] [--n 512] [--repeats 3] [--batch-size 256]

Random weights (nothing to download), CPU, the first ``--n`` entries of the built-in ImageNet
dictionary in the default prompt. The two contenders run in turn in one process after a warm-up
(so load hits both alike); prints medians, their ratio and the largest difference between the
two sets of embeddings, as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def run(model: str = "ViT-B-32", n: int = 512, repeats: int = 3, batch_size: int = 256) -> dict:
    import numpy as np
    import torch

    from bliss_core.core.text import DEFAULT_PROMPT, fill_prompt
    from bliss_core.embed.dictionary import load_dictionary
    from bliss_core.embed.models import encode_texts, load_model

    loaded = load_model(model, "random", device="cpu")
    entries = load_dictionary("imagenet")[:n]

    def trimmed() -> np.ndarray:
        return encode_texts(loaded, entries, DEFAULT_PROMPT, batch_size=batch_size)

    def full_context() -> np.ndarray:  # open_clip as it is: every batch runs all 77 positions
        prompts = [fill_prompt(DEFAULT_PROMPT, e) for e in entries]
        out = []
        with torch.inference_mode():
            for i in range(0, len(prompts), batch_size):
                feats = loaded.model.encode_text(loaded.tokenizer(prompts[i : i + batch_size]))
                out.append(torch.nn.functional.normalize(feats.float(), dim=-1).numpy())
        return np.concatenate(out)

    trimmed()  # warm-up (allocations, kernels)
    times: dict[str, list[float]] = {"trimmed": [], "full_context": []}
    results = {}
    for _ in range(repeats):
        for name, fn in (("trimmed", trimmed), ("full_context", full_context)):
            t = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "model": model,
        "weights": "random (untrained)",
        "prompts": len(entries),
        "batch_size": batch_size,
        "torch_threads": torch.get_num_threads(),
        "repeats": repeats,
        "trimmed_s": round(med["trimmed"], 2),
        "full_context_s": round(med["full_context"], 2),
        "speed-up": round(med["full_context"] / med["trimmed"], 2),
        "max_abs_difference": float(np.abs(results["trimmed"] - results["full_context"]).max()),
        "runs_s": {k: [round(x, 2) for x in v] for k, v in times.items()},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="ViT-B-32")
    ap.add_argument("--n", type=int, default=512, help="dictionary entries (default 512 of the 1,860)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args()
    print(json.dumps(run(args.model, args.n, args.repeats, args.batch_size), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
