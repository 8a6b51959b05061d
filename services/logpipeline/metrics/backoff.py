"""Retry delays: exponential backoff with full jitter, capped (pure; the caller sleeps)."""

from __future__ import annotations

import random


def delay(attempt: int, base: float = 0.2, cap: float = 10.0, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, ...): uniform in [0, min(cap, base * 2**(attempt-1))]."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(0, ceiling)
