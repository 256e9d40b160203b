"""One question to the network, asked the same way everywhere: does this server answer?

Used before a download (model weights, torchvision datasets) so that an offline machine fails
within seconds with advice, instead of retrying a download for minutes.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request

__all__ = ["hub_reachable", "reachable"]


def reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether ``url`` answers an HTTP HEAD request within ``timeout`` seconds.

    Any HTTP status counts as an answer; DNS failure, refused or silent connections do not.
    The request runs in a daemon thread, so a hanging DNS lookup cannot hold the caller.
    """
    result: list[bool] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
                result.append(True)
        except urllib.error.HTTPError:
            result.append(True)
        except Exception:
            result.append(False)

    t = threading.Thread(target=probe, daemon=True, name="bliss-network-probe")
    t.start()
    t.join(timeout + 0.5)
    return bool(result and result[0])


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub may be used: no ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE``
    set, and ``HF_ENDPOINT`` (default huggingface.co) answers within ``timeout`` seconds."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return False
    return reachable(os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/"), timeout)
