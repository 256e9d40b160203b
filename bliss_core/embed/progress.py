"""What an embedding run tells its caller: progress events while it runs, a report at the end."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["EmbedProgress", "EmbedReport", "Progress"]


@dataclass
class EmbedProgress:
    """A progress event: ``stage`` is "hashing", "images" or "texts"."""

    stage: str
    done: int
    total: int
    rate: float  # items per second in this stage so far
    eta_s: float | None
    cached: int = 0

    def line(self) -> str:
        """A tqdm-like one-line rendering."""
        pct = 100.0 * self.done / self.total if self.total else 100.0
        eta = "?" if self.eta_s is None else _fmt_s(self.eta_s)
        extra = f", {self.cached} cached" if self.cached else ""
        return (
            f"{self.stage:>7}: {pct:5.1f}% {self.done}/{self.total} [{self.rate:.1f} it/s, ETA {eta}{extra}]"
        )


def _fmt_s(s: float) -> str:
    s = round(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


@dataclass
class EmbedReport:
    """What a run did: counts, timings, where the bundle went, and what was skipped."""

    out: str | None
    n_images: int = 0  # rows in the bundle
    n_unique: int = 0
    n_computed: int = 0  # images run through the model in this run
    n_from_cache: int = 0
    n_texts_computed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    corrupt_cache_shards: int = 0
    cache_notes: list[str] = field(default_factory=list)  # what the cache dropped or ignored, in words
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def images_per_s(self) -> float:
        t = self.seconds.get("images", 0.0)
        return self.n_computed / t if t > 0 else 0.0


class Progress:
    """Counts one stage's work and calls ``cb`` with an :class:`EmbedProgress` at most every
    ``every_s`` seconds (and at the end); items found in the cache are counted apart, so the
    rate and the ETA are those of the real work."""

    def __init__(
        self, stage: str, total: int, cb: Callable[[EmbedProgress], None] | None, every_s: float = 0.5
    ):
        self.stage, self.total, self.cb, self.every = stage, total, cb, every_s
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.done = 0
        self.cached = 0
        self.work_done = 0

    def update(self, n: int, cached: bool = False, force: bool = False) -> None:
        self.done += n
        if cached:
            self.cached += n
        else:
            self.work_done += n
        now = time.perf_counter()
        if self.cb and (force or now - self.last >= self.every or self.done >= self.total):
            self.last = now
            el = max(now - self.t0, 1e-9)
            rate = self.work_done / el if self.work_done else self.done / el
            left = self.total - self.done
            eta = left / rate if rate > 0 else None
            self.cb(EmbedProgress(self.stage, self.done, self.total, rate, eta, self.cached))
