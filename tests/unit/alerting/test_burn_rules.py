"""The SRE workbook's rules on per-minute counts, driven minute by minute through the alert lifecycle.

Each scenario keeps 3 days of clean history (1000 events a minute), then changes the bad share, and evaluates once
a minute the way the service does: the minute that just ended is in the store, then the clock ticks."""

from __future__ import annotations

from dataclasses import dataclass, field

from logpipeline.alerting import burnrate, lifecycle, slo
from logpipeline.alerting.burnrate import MINUTE_MS, Counts

T0 = 1_780_000_000_000 // 3_600_000 * 3_600_000  # an hour boundary
PER_MINUTE = 1000
KEY = ("checkout-availability", "checkout")


def objective(min_events: int = 50) -> slo.Objective:
    return slo.Objective("checkout-availability", slo.AVAILABILITY, 0.999, 30 * 86_400_000, ("mail",), "checkout",
                         min_events=min_events)  # fmt: skip


@dataclass
class Scenario:
    """A clock the test controls over one series; history before ``T0``, then ``bad(minute)`` per minute."""

    obj: slo.Objective = field(default_factory=objective)
    per_minute: int = PER_MINUTE
    counts: Counts = field(default_factory=lambda: Counts(30 * 1440 + 10))
    state: lifecycle.AlertState = field(default_factory=lambda: lifecycle.AlertState(*KEY))
    events: list[tuple[int, str, str | None]] = field(default_factory=list)  # (minute, kind, severity)

    def __post_init__(self) -> None:
        for m in range(-3 * 1440, 0):
            self.counts.add(KEY, T0 // MINUTE_MS + m, self.per_minute, self.per_minute)

    def run(self, minutes: int, bad: float, start: int = 0, every: int = 1) -> None:
        """Write minutes ``start..start+minutes-1`` with a bad share ``bad`` and evaluate after each ``every``."""
        for m in range(start, start + minutes):
            n_bad = round(self.per_minute * bad)
            self.counts.clear(T0 // MINUTE_MS + m, T0 // MINUTE_MS + m + 1)  # as the evaluator clears a re-read minute
            self.counts.add(KEY, T0 // MINUTE_MS + m, self.per_minute - n_bad, self.per_minute)
            if (m + 1 - start) % every == 0 or m == start + minutes - 1:
                self.evaluate(m + 1)

    def evaluate(self, minute: int) -> None:
        now = T0 + minute * MINUTE_MS
        judged = burnrate.assess(self.counts, KEY, self.obj, now)
        self.state, kind = lifecycle.step(self.state, judged.severity, now, MINUTE_MS, 4 * 3_600_000)
        if kind is not None:
            self.state = lifecycle.notified(self.state, kind, self.state.severity or "", now)
            self.events.append((minute, kind, self.state.severity))

    def first(self, kind: str, severity: str | None = None) -> int | None:
        return next((m for m, k, s in self.events if k == kind and (severity is None or s == severity)), None)


def test_total_outage_pages_within_two_minutes_and_a_short_one_resolves_within_six() -> None:
    s = Scenario()
    s.run(2, bad=1.0)  # minutes 0 and 1 fail completely
    fired = s.first(lifecycle.FIRED, slo.PAGE)
    assert fired is not None and fired <= 2, s.events  # minute 0 was in the store at minute 1
    s.run(30, bad=0.0, start=2)
    resolved = s.first(lifecycle.RESOLVED)
    assert resolved is not None and resolved - 2 <= 6, s.events


def test_a_long_outage_pages_then_tickets_until_the_slow_windows_clear() -> None:
    """Ten minutes of total outage use 23% of the month's budget: the 6 h / 30 min page holds until its 30 minute
    window clears, then the 3 d / 6 h ticket until its 6 hour window does (the workbook's slow-burn rule)."""
    s = Scenario()
    s.run(10, bad=1.0)
    s.run(28, bad=0.0, start=10)
    assert (s.state.status, s.state.severity) == (lifecycle.FIRING, slo.PAGE)
    s.run(4, bad=0.0, start=38)
    assert (s.state.status, s.state.severity) == (lifecycle.FIRING, slo.TICKET)  # downgraded, not notified
    s.run(400, bad=0.0, start=42)
    resolved = s.first(lifecycle.RESOLVED)
    assert resolved is not None and 10 + 358 <= resolved <= 10 + 361, s.events
    assert [k for _, k, _ in s.events] == [lifecycle.FIRED, lifecycle.REPEAT, lifecycle.RESOLVED]  # 4 h repeat


def test_a_constant_burn_rate_of_15_pages_at_57_to_59_minutes() -> None:
    s = Scenario()
    s.run(70, bad=15 * 0.001)
    assert 57 <= (s.first(lifecycle.FIRED, slo.PAGE) or 0) <= 59, s.events


def test_burn_rate_2_never_pages_and_tickets_at_about_36_hours() -> None:
    s = Scenario()
    s.run(30 * 60, bad=2 * 0.001, every=10)
    s.run(12 * 60, bad=2 * 0.001, start=30 * 60)
    assert s.first(lifecycle.FIRED, slo.PAGE) is None
    assert s.first(lifecycle.ESCALATED, slo.PAGE) is None
    ticket = s.first(lifecycle.FIRED, slo.TICKET)
    assert ticket is not None and abs(ticket - 36 * 60) <= 5, s.events


def test_burn_rate_0_9_for_30_days_fires_nothing() -> None:
    s = Scenario(per_minute=10_000)  # 9 bad events a minute: exactly 0.9 of the budget's pace
    s.run(30 * 1440, bad=0.9 * 0.001, every=15)
    assert s.events == []
    judged = burnrate.assess(s.counts, KEY, s.obj, T0 + 30 * 1440 * MINUTE_MS)
    assert 0.85 < judged.budget_consumed < 0.95  # nearly the whole budget, never over a rule


def test_no_page_from_windows_with_fewer_events_than_the_guard() -> None:
    s = Scenario(obj=objective(min_events=100), per_minute=1)  # 5 events in 5 minutes, 30 in 30
    s.run(10, bad=1.0)
    assert s.first(lifecycle.FIRED, slo.PAGE) is None
    assert s.first(lifecycle.FIRED, slo.TICKET) is not None  # the 2 h window holds enough events
    loud = Scenario(obj=objective(min_events=5), per_minute=1)
    loud.run(10, bad=1.0)
    assert loud.first(lifecycle.FIRED, slo.PAGE) is not None


def test_budget_and_time_to_exhaustion() -> None:
    s = Scenario()
    s.run(60, bad=0.01)  # burn 10 for an hour
    judged = burnrate.assess(s.counts, KEY, s.obj, T0 + 60 * MINUTE_MS)
    assert abs(judged.burn[60] - 10) < 0.2
    # the bad share of the window's events over the share allowed (3 days and an hour of events stored so far)
    assert abs(judged.budget_consumed - 600 / ((3 * 1440 + 60) * PER_MINUTE) / 0.001) < 1e-9
    assert judged.exhaustion_ms is not None
    assert abs(judged.exhaustion_ms - judged.budget_remaining * 30 * 86_400_000 / judged.burn[60]) < 1


def test_a_reread_minute_replaces_its_counts() -> None:
    counts = Counts(100)
    counts.add(KEY, 50, 10, 20)
    counts.clear(50, 51)
    counts.add(KEY, 50, 19, 20)
    assert counts.sums(KEY, 50, 1) == (19, 20)
    counts.add(KEY, 150, 1, 1)  # the ring wrapped: minute 150 takes minute 50's slot after a clear
    assert counts.sums(KEY, 150, 1) == (20, 21)  # not cleared: the caller clears before loading
