"""Alert lifecycle (pure), as Alertmanager users know it: inactive → pending → firing → resolved.

One alert per group, a group being one objective and one API (``*``: all APIs). Its severity is the gravest rule
that fires. Notifications: when it starts firing, when its severity grows (ticket → page), again after each
repeat interval while it fires, and once when it resolves. A silence that matches holds back firing and repeat
notices (the alert still changes state); a resolve notice is sent only for an alert whose firing was notified.

A notice to send lives in the alert's state (``outbox``) until every receiver has had it: the evaluator that
wins the conditional write of the state delivers it under a lease, and one that finds an expired lease (its owner
died mid-delivery) delivers what is left, with the same idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from logpipeline.alerting.slo import PAGE, SEVERITIES

INACTIVE, PENDING, FIRING = "inactive", "pending", "firing"
FIRED, REPEAT, ESCALATED, RESOLVED = "firing", "repeat", "escalated", "resolved"
HISTORY_KEPT = 50
LEASE_MS = 120_000


def graver(a: str | None, b: str | None) -> bool:
    """Whether severity ``a`` is graver than ``b`` (page > ticket > none)."""

    def rank(severity: str | None) -> int:
        return len(SEVERITIES) - SEVERITIES.index(severity) if severity in SEVERITIES else 0

    return rank(a) > rank(b)


@dataclass(frozen=True)
class Notice:
    """One notification to deliver: what happened, to whom it is still owed, and its content (fixed when made)."""

    kind: str  # firing | escalated | repeat | resolved
    key: str  # idempotency key: the same notice delivered twice carries the same key
    severity: str
    created_at: int
    pending: tuple[str, ...]  # receiver names still to deliver to
    payload: dict[str, Any]
    lease_until: int = 0
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertState:
    slo: str
    api: str
    status: str = INACTIVE
    severity: str | None = None
    active_since: int | None = None
    fired_at: int | None = None
    resolved_at: int | None = None
    notified_at: int | None = None  # last firing/escalated/repeat notice made (None: none for this firing)
    notified_severity: str | None = None
    outbox: Notice | None = None
    history: tuple[tuple[str, str, int], ...] = field(default=())  # (event, severity, at ms), newest last
    version: int = 0  # the store's version of this state (conditional writes)
    region: str = ""  # the regional pipeline whose evaluator judges it ("": a single-region store)

    @property
    def group(self) -> str:
        return f"{self.slo}|{self.api}"


@dataclass(frozen=True)
class Silence:
    """Holds back notices of alerts whose labels match every given matcher, from ``starts`` until ``ends``."""

    id: str
    starts: int
    ends: int
    slo: str | None = None
    api: str | None = None
    severity: str | None = None
    comment: str = ""
    created_by: str = ""
    region: str | None = None  # one region's alerts only (None: every region's)

    def matches(self, state: AlertState, severity: str | None, now_ms: int) -> bool:
        if not self.starts <= now_ms < self.ends:
            return False
        wanted = ((self.slo, state.slo), (self.api, state.api), (self.severity, severity), (self.region, state.region))
        return all(want is None or want == have for want, have in wanted)


def _history(state: AlertState, event: str, severity: str | None, now_ms: int) -> tuple[tuple[str, str, int], ...]:
    return (*state.history, (event, severity or "", now_ms))[-HISTORY_KEPT:]


def step(
    state: AlertState, severity: str | None, now_ms: int, for_ms: int, repeat_ms: int
) -> tuple[AlertState, str | None]:
    """The next state for the condition seen now (``severity``: the gravest rule firing, None: none) and the kind
    of notice it calls for (None: no notice). Silences are applied by the caller (``hold``)."""
    active = severity is not None
    if state.status == FIRING:
        if not active:
            resolved = replace(
                state,
                status=INACTIVE,
                severity=None,
                active_since=None,
                resolved_at=now_ms,
                history=_history(state, RESOLVED, state.severity, now_ms),
            )
            return resolved, RESOLVED if state.notified_at is not None else None
        moved = replace(state, severity=severity)
        if state.notified_at is None:  # held back so far (a silence): notified as it fires now
            return moved, FIRED
        if graver(severity, state.notified_severity):
            return replace(moved, history=_history(state, ESCALATED, severity, now_ms)), ESCALATED
        if now_ms - state.notified_at >= repeat_ms:
            return moved, REPEAT
        return moved, None
    if not active:
        return (replace(state, status=INACTIVE, severity=None, active_since=None), None)
    since = state.active_since if state.status == PENDING and state.active_since is not None else now_ms
    if now_ms - since >= for_ms:
        firing = replace(
            state,
            status=FIRING,
            severity=severity,
            active_since=since,
            fired_at=now_ms,
            resolved_at=None,
            notified_at=None,
            notified_severity=None,
            history=_history(state, FIRED, severity, now_ms),
        )
        return firing, FIRED
    return replace(state, status=PENDING, severity=severity, active_since=since), None


def notified(state: AlertState, kind: str, severity: str, now_ms: int) -> AlertState:
    """The state once a firing/escalated/repeat notice was made (resolve notices end the firing's record)."""
    if kind == RESOLVED:
        return replace(state, notified_at=None, notified_severity=None)
    return replace(state, notified_at=now_ms, notified_severity=severity)


def idempotency_key(state: AlertState, kind: str, now_ms: int) -> str:
    """One notice's key (receivers drop a second delivery of it); a region's alerts have keys of their own."""
    scope = f"{state.region}|" if state.region else ""
    return f"{scope}{state.group}|{state.fired_at or state.resolved_at}|{kind}|{now_ms}"


def page_firing(states: list[AlertState]) -> list[AlertState]:
    """The alerts that page now (the dashboard's banner)."""
    return [s for s in states if s.status == FIRING and s.severity == PAGE]
