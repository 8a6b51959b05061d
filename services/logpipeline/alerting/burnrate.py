"""Multiwindow, multi-burn-rate SLO rules (pure, numpy): per-minute good/total counts in, an assessment out.

The rules are those of Google's SRE workbook ("Alerting on SLOs", table 5-8): a rule fires when the burn rate
(the bad share of events over the share the SLO allows) exceeds its threshold over both its long and its short
window; the short window makes an alert stop soon after the trouble stops.

==========  ===========  ============  =========
severity    long window  short window  burn rate
==========  ===========  ============  =========
page        1 h          5 min         14.4
page        6 h          30 min        6
ticket      1 day        2 h           3
ticket      3 days       6 h           1
==========  ===========  ============  =========

A window of ``w`` minutes is the ``w`` minutes that end with the current one (the one in progress counts as it is
stored). A rule whose windows hold fewer than the objective's ``min_events`` events does not fire.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from logpipeline.alerting.slo import PAGE, TICKET, Objective

MINUTE_MS = 60_000


@dataclass(frozen=True)
class Rule:
    severity: str
    long_minutes: int
    short_minutes: int
    burn_rate: float


RULES = (
    Rule(PAGE, 60, 5, 14.4),
    Rule(PAGE, 360, 30, 6.0),
    Rule(TICKET, 1440, 120, 3.0),
    Rule(TICKET, 4320, 360, 1.0),
)
WINDOWS = sorted({m for r in RULES for m in (r.long_minutes, r.short_minutes)})
LONGEST_RULE_MINUTES = max(WINDOWS)


def window_label(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


class Counts:
    """Good and total events per minute for many series (rows), kept for the last ``span`` minutes in a ring.

    Minutes are epoch minutes; a minute's count is 32-bit (200 SLOs over 30 days hold 70 MB). Loading a range first clears it (``clear``), then adds what the store holds, so
    a re-read minute (late data, a correction) replaces its old counts."""

    def __init__(self, span_minutes: int) -> None:
        self.span = span_minutes
        self.rows: dict[Hashable, int] = {}
        self.good = np.zeros((0, span_minutes), dtype=np.int32)
        self.total = np.zeros((0, span_minutes), dtype=np.int32)

    def row(self, key: Hashable) -> int:
        found = self.rows.get(key)
        if found is not None:
            return found
        index = self.rows[key] = len(self.rows)
        if index >= self.good.shape[0]:
            grow = max(8, self.good.shape[0])
            self.good = np.vstack([self.good, np.zeros((grow, self.span), dtype=np.int32)])
            self.total = np.vstack([self.total, np.zeros((grow, self.span), dtype=np.int32)])
        return index

    def clear(self, first_minute: int, end_minute: int) -> None:
        """Forget every series' counts of minutes ``[first_minute, end_minute)``."""
        if end_minute - first_minute >= self.span:
            self.good[:] = 0
            self.total[:] = 0
            return
        slots = np.arange(first_minute, end_minute) % self.span
        self.good[:, slots] = 0
        self.total[:, slots] = 0

    def add(self, key: Hashable, minute: int, good: int, total: int) -> None:
        row, slot = self.row(key), minute % self.span
        self.good[row, slot] += good
        self.total[row, slot] += total

    def sums(self, key: Hashable, now_minute: int, minutes: int) -> tuple[int, int]:
        """(good, total) over the ``minutes`` minutes ending with ``now_minute``."""
        row = self.rows.get(key)
        if row is None:
            return 0, 0
        slots = np.arange(now_minute - minutes + 1, now_minute + 1) % self.span
        return int(self.good[row, slots].sum(dtype=np.int64)), int(self.total[row, slots].sum(dtype=np.int64))


@dataclass(frozen=True)
class Assessment:
    """Where one series of one objective stands at one moment."""

    severity: str | None  # the gravest rule that fires, or None
    rule: Rule | None
    burn: dict[int, float]  # window minutes -> burn rate
    events: dict[int, int]  # window minutes -> events
    budget_consumed: float  # share of the window's error budget used (may exceed 1)
    exhaustion_ms: float | None  # at the 1 h burn rate, until the budget is gone (0: gone; None: not burning)

    @property
    def budget_remaining(self) -> float:
        return 1.0 - self.budget_consumed


def burn_rate(good: int, total: int, budget: float) -> float:
    return 0.0 if total <= 0 else (total - good) / total / budget


def assess(counts: Counts, key: Hashable, objective: Objective, now_ms: int) -> Assessment:
    now_minute = now_ms // MINUTE_MS
    burn: dict[int, float] = {}
    events: dict[int, int] = {}
    for minutes in WINDOWS:
        good, total = counts.sums(key, now_minute, minutes)
        burn[minutes], events[minutes] = burn_rate(good, total, objective.budget), total
    fired: Rule | None = None
    for rule in RULES:
        enough = min(events[rule.long_minutes], events[rule.short_minutes]) >= max(objective.min_events, 1)
        if enough and burn[rule.long_minutes] > rule.burn_rate and burn[rule.short_minutes] > rule.burn_rate:
            fired = rule
            break  # RULES are gravest first
    span = min(objective.window_ms // MINUTE_MS, counts.span)
    good, total = counts.sums(key, now_minute, span)
    consumed = burn_rate(good, total, objective.budget)  # the window's burn rate is the share of budget used
    remaining = 1.0 - consumed
    hourly = burn[60]
    exhaustion = 0.0 if remaining <= 0 else (remaining * objective.window_ms / hourly if hourly > 0 else None)
    return Assessment(fired.severity if fired else None, fired, burn, events, consumed, exhaustion)
