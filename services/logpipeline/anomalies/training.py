"""Training: replaying a series' history through its detector, minute after minute (pure, no I/O).

The model learns online, so training is a replay: every minute from the first to the last, in order, an API's
missing minute read as no events. What the replay leaves is the state a model file keeps. The Spark job runs
this per API, in parallel; the scorer runs the same to catch up from a model's last minute to now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from logpipeline.anomalies.detector import Detector
from logpipeline.anomalies.scoring import Scorer
from logpipeline.anomalies.series import Figures

MINUTE_MS = 60_000


def replay(scorer: Scorer, start_ms: int, end_ms: int, figures: Mapping[int, Mapping[str, Figures]]) -> int:
    """Score (and learn) every minute in ``[start_ms, end_ms)``; returns the minutes replayed."""
    first = start_ms if scorer.last_minute is None else max(start_ms, scorer.last_minute + MINUTE_MS)
    count = 0
    for minute in range(first, end_ms, MINUTE_MS):
        scorer.score(minute, figures.get(minute, {}))
        count += 1
    return count


def train_api(
    api: str, rows: Iterable[tuple[int, int, int, float | None]], warmup_minutes: int | None = None
) -> dict[tuple[str, str], Detector]:
    """One API's detectors learnt from its minutes ``(minute start, events, errors, p95)``, in any order."""
    figures = {minute: {api: Figures(events, errors, p95)} for minute, events, errors, p95 in rows}
    scorer = Scorer(warmup_minutes=warmup_minutes)
    if figures:
        replay(scorer, min(figures), max(figures) + MINUTE_MS, figures)
    return scorer.detectors
