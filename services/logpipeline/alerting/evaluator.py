"""One evaluation cycle of the SLOs: read what changed, judge every alert group, write state, deliver notices.

Reads are incremental, through the query layer (Query only): the first cycle loads the longest window any SLO
needs; each later one re-reads the minutes since the last read plus a settle margin (the stream still updates the
newest minutes), and whole hours whose change signal (``revisions``) moved: late data and corrections.
The clock is the caller's (``cycle(now_ms)``), so tests drive it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from datasketches import kll_doubles_sketch

from logpipeline.alerting import lifecycle, message, state
from logpipeline.alerting.burnrate import LONGEST_RULE_MINUTES, MINUTE_MS, Assessment, Counts, assess, window_label
from logpipeline.alerting.lifecycle import RESOLVED, AlertState, Notice
from logpipeline.alerting.receivers import DeliveryFailed
from logpipeline.alerting.slo import AVAILABILITY, LEVELS, Definition, Objective, Receiver, series_apis
from logpipeline.alerting.telemetry import Metrics
from logpipeline.events.schema import ERROR_LEVELS
from logpipeline.metrics import query, revisions, store
from logpipeline.metrics.records import Aggregate

log = logging.getLogger("logpipeline.alerts")
SETTLE_MINUTES = 5
Deliver = Callable[[Receiver, dict[str, Any], str, threading.Event | None], None]


def good_total(objective: Objective, agg: Aggregate, sketch: kll_doubles_sketch | None = None) -> tuple[int, int]:
    """The good and total events an aggregate adds to an objective (``sketch``: the aggregate's, decoded once)."""
    if objective.objective == AVAILABILITY:
        if objective.errors_from == LEVELS:
            return (0 if agg.log_level in ERROR_LEVELS else agg.log_count), agg.log_count
        return agg.log_count - agg.status_5xx, agg.log_count
    assert objective.threshold_ms is not None
    sketch = sketch if sketch is not None else kll_doubles_sketch.deserialize(agg.sketch)
    good = round(sketch.get_rank(objective.threshold_ms, True) * agg.log_count) if not sketch.is_empty() else 0
    return good, agg.log_count


@dataclass
class Judged:
    objective: Objective
    api: str
    assessment: Assessment


class Evaluator:
    def __init__(
        self,
        ddb: Any,
        table: str,
        definition: Definition,
        deliver: Deliver,
        metrics: Metrics | None = None,
        for_ms: int = MINUTE_MS,
        stop: threading.Event | None = None,
        region: str = "",
    ) -> None:
        self.ddb, self.table, self.definition, self.deliver = ddb, table, definition, deliver
        self.metrics = metrics or Metrics()
        self.for_ms, self.stop = for_ms, stop
        self.region = region  # a regional pipeline judges its own region's windows
        self.adopted = False  # the first cycle takes over the states kept before they were per region
        self.reader = query.Reader(ddb, table, region=region)
        longest = max((o.window_ms // MINUTE_MS for o in definition.objectives), default=0)
        self.span = max(longest, LONGEST_RULE_MINUTES) + SETTLE_MINUTES
        self.counts = Counts(self.span)
        self.loaded_until: int | None = None  # epoch minute, exclusive
        self.latest_rev = -1
        self.revs: dict[int, int] = {}
        self.apis: set[str] = set()
        self.judged: dict[str, Judged] = {}
        self.by_api: dict[str, list[Objective]] = {}
        for o in definition.objectives:
            if o.api is not None:
                self.by_api.setdefault(o.api, []).append(o)
        self.every_api = [o for o in definition.objectives if o.api is None]

    # -- reading ------------------------------------------------------------------------------------------------
    def _load(self, first_minute: int, end_minute: int) -> None:
        if end_minute <= first_minute:
            return
        windows = self.reader.windows(first_minute * MINUTE_MS, end_minute * MINUTE_MS)
        self.counts.clear(first_minute, end_minute)
        for agg in windows:
            self.apis.add(agg.api)
            minute = agg.window_start // MINUTE_MS
            objectives = (*self.by_api.get(agg.api, ()), *self.every_api)
            sketch = None
            if any(o.threshold_ms is not None for o in objectives):
                sketch = kll_doubles_sketch.deserialize(agg.sketch)
            for objective in objectives:
                key = agg.api if objective.api is not None or objective.per_api else "*"
                good, total = good_total(objective, agg, sketch)
                self.counts.add((objective.name, key), minute, good, total)

    def _changed_hours(self, first_minute: int, now_minute: int) -> Iterable[int]:
        """Hours before the recent re-read whose change signal moved since the last look (one GetItem when none)."""
        latest = store.latest_revision(self.ddb, self.table, self.region)
        if latest == self.latest_rev:
            return []
        seen = store.read_revisions(
            self.ddb, self.table, first_minute * MINUTE_MS, (now_minute + 1) * MINUTE_MS, self.region
        )
        moved = [h for h, r in seen.items() if self.revs.get(h) != r.rev]
        first_cycle = self.latest_rev < 0
        self.latest_rev, self.revs = latest, {h: r.rev for h, r in seen.items()}
        return [] if first_cycle else sorted(moved)

    def refresh(self, now_ms: int) -> None:
        now_minute = now_ms // MINUTE_MS
        oldest = now_minute - self.span + 1
        hours = self._changed_hours(oldest, now_minute)
        if self.loaded_until is None or self.loaded_until <= oldest:
            self._load(oldest, now_minute + 1)
        else:
            recent = max(oldest, min(self.loaded_until, now_minute + 1) - SETTLE_MINUTES)
            for hour in hours:
                first = max(oldest, hour // MINUTE_MS)
                end = min(recent, (hour + revisions.HOUR_MS) // MINUTE_MS)
                self._load(first, end)
            self._load(recent, now_minute + 1)
        self.loaded_until = now_minute + 1

    # -- judging ------------------------------------------------------------------------------------------------
    def _receivers(self, objective: Objective, severity: str) -> list[Receiver]:
        found = [self.definition.receivers_by_name[name] for name in objective.receivers]
        return [r for r in found if severity in r.severities]

    def _notice(self, kind: str, st: AlertState, objective: Objective, judged: Assessment, now_ms: int) -> Notice:
        severity = st.severity or (st.history[-1][1] if st.history else "")
        payload = message.payload(kind, st, objective, judged, now_ms, self.definition.dashboard_url)
        names = tuple(r.name for r in self._receivers(objective, severity))
        key = lifecycle.idempotency_key(st, kind, now_ms)
        return Notice(kind, key, severity, now_ms, names, payload, now_ms + lifecycle.LEASE_MS)

    def _judge(
        self, objective: Objective, api: str, old: AlertState, silences: list[lifecycle.Silence], now_ms: int
    ) -> AlertState:
        judged = assess(self.counts, (objective.name, api), objective, now_ms)
        self.judged[old.group] = Judged(objective, api, judged)
        self.metrics.observe(objective.name, api, judged)
        new, kind = lifecycle.step(old, judged.severity, now_ms, self.for_ms, self.definition.repeat_interval_ms)
        if kind is None:
            return new
        severity = new.severity or old.severity or ""
        if kind != RESOLVED and any(s.matches(new, severity, now_ms) for s in silences):
            self.metrics.silenced.labels(objective.name).inc()
            return new
        notice = self._notice(kind, new if kind != RESOLVED else old, objective, judged, now_ms)
        return replace(lifecycle.notified(new, kind, severity, now_ms), outbox=notice)

    def cycle(self, now_ms: int) -> dict[str, AlertState]:
        """Read, judge every group, and deliver what this evaluator won the right to send; returns the states as
        this evaluator left them (a group another evaluator wrote meanwhile: as read)."""
        with self.metrics.duration.time():
            self.refresh(now_ms)
            if not self.adopted:
                copied = state.adopt(self.ddb, self.table, self.region)
                if copied:
                    log.info("alert states moved to the region's keys", extra={"fields": {"states": copied}})
                self.adopted = True
            states = state.read_states(self.ddb, self.table, self.region)
            silences = state.read_silences(self.ddb, self.table)
            targets = state.read_targets(self.ddb, self.table)
            for defined in self.definition.objectives:
                for api in series_apis(defined, sorted(self.apis)):
                    group = f"{defined.name}|{api}"
                    override = targets.get((defined.name, api))
                    objective = defined if override is None else replace(defined, target=override)
                    old = states.get(group) or AlertState(objective.name, api, region=self.region)
                    if old.outbox is not None:
                        if old.outbox.lease_until > now_ms:
                            continue  # another evaluator is delivering this group's notice
                        old = states[group] = self._take_over(old, now_ms)
                        if old.outbox is not None:
                            continue
                    new = self._judge(objective, api, old, silences, now_ms)
                    if replace(new, version=old.version) == old:
                        continue
                    try:
                        written = state.write_state(self.ddb, self.table, new)
                    except state.Conflict:
                        self.metrics.conflicts.inc()
                        continue
                    states[group] = self._deliver(written) if written.outbox is not None else written
            state.write_summaries(self.ddb, self.table, self.summaries(states, now_ms), now_ms, self.region)
            self.metrics.evaluations.inc()
            self.metrics.items_read.set(self.reader.items_read)
            self.metrics.firing_now(states.values())
            return states

    def summaries(self, states: dict[str, AlertState], now_ms: int) -> list[dict[str, Any]]:
        """Where each group stands now (the dashboard's SLO page reads these)."""
        out = []
        for group, judged in self.judged.items():
            st = states.get(group)
            o, a = judged.objective, judged.assessment
            out.append({
                "slo": o.name, "api": judged.api, "objective": o.objective, "target": o.target,
                "window": window_label(o.window_ms // MINUTE_MS), "status": st.status if st else "inactive",
                "severity": st.severity if st else None,
                "burn": {window_label(m): round(b, 4) for m, b in sorted(a.burn.items())},
                "events": {window_label(m): n for m, n in sorted(a.events.items())},
                "budgetRemaining": round(a.budget_remaining, 5),
                "exhaustionSeconds": None if a.exhaustion_ms is None else round(a.exhaustion_ms / 1000),
                "history": [list(h) for h in (st.history if st else ())][-10:],
                "at": now_ms, **({"region": self.region} if self.region else {}),
            })  # fmt: skip
        return out

    # -- delivering ---------------------------------------------------------------------------------------------
    def _take_over(self, st: AlertState, now_ms: int) -> AlertState:
        """Deliver what an evaluator that died mid-delivery left (its lease expired)."""
        assert st.outbox is not None
        leased = replace(st, outbox=replace(st.outbox, lease_until=now_ms + lifecycle.LEASE_MS))
        try:
            written = state.write_state(self.ddb, self.table, leased)
        except state.Conflict:
            self.metrics.conflicts.inc()
            return st
        log.info("delivering a notice left undelivered", extra={"fields": {"group": st.group, "key": st.outbox.key}})
        return self._deliver(written)

    def _deliver(self, st: AlertState) -> AlertState:
        notice = st.outbox
        assert notice is not None
        receivers = [
            self.definition.receivers_by_name[n] for n in notice.pending if n in self.definition.receivers_by_name
        ]

        def one(receiver: Receiver) -> None:
            try:
                self.deliver(receiver, notice.payload, notice.key, self.stop)
                self.metrics.sent.labels(receiver.name, notice.kind).inc()
                log.info(
                    "notified",
                    extra={
                        "fields": {"receiver": receiver.name, "group": st.group, "kind": notice.kind, "key": notice.key}
                    },
                )
            except DeliveryFailed as exc:
                self.metrics.failed.labels(receiver.name, notice.kind).inc()
                log.error(
                    "notification failed",
                    extra={"fields": {"receiver": receiver.name, "group": st.group, "error": str(exc)}},
                )

        with ThreadPoolExecutor(max_workers=max(1, len(receivers))) as pool:
            list(pool.map(one, receivers))
        done = replace(st, outbox=None)
        try:
            return state.write_state(self.ddb, self.table, done)
        except state.Conflict:
            self.metrics.conflicts.inc()
            log.warning("notice delivered but its state changed meanwhile", extra={"fields": {"group": st.group}})
            return done
