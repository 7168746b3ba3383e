"""Capped exponential backoff with jitter for the sync timer (docs/architecture.md#sync).

Pure and single-threaded: the engine's timer thread owns one :class:`Backoff`.
"""

from __future__ import annotations

import random


class Backoff:
    """Delay after the n-th consecutive failure: ``d = min(cap, base * 2**(n-1))``, then a
    random point in ``[d/2, d]`` ("equal jitter"), so tablets that lost the network together do
    not all come back at the same second, and no delay ever exceeds ``cap``."""

    def __init__(
        self, base: float = 2.0, cap: float = 300.0, rng: random.Random | None = None
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError("backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.failures = 0
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    def failure(self) -> float:
        """Records one more failure; returns the seconds to wait before the next attempt."""
        self.failures += 1
        ceiling = min(self.cap, self.base * float(2 ** min(self.failures - 1, 62)))
        return float(ceiling / 2 + self._rng.uniform(0, ceiling / 2))

    def success(self) -> None:
        self.failures = 0
