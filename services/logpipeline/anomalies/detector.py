"""One series' detector: the model, the guards and the rule, minute by minute (pure, no I/O).

A minute gets a verdict only once the series has ``warmup_minutes`` of history (a week by default, so every day
of the week has been seen once): before that its status is ``learning`` and nothing is flagged. A minute out of
band is *flagged* only when it moves in a direction that matters (``up`` for error rate and latency: fewer errors
is no incident), when the minute is busy enough (``min_count`` events: quiet night hours do not page), and when
the change is large enough to matter (``min_change``: relative for counts and levels, in absolute points of rate
for ratios).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from logpipeline.anomalies.model import COUNT, DAY_MINUTES, RATIO, Model, Params, Point
from logpipeline.anomalies.rule import Rule, RuleParams

UP, DOWN, BOTH = "up", "down", "both"
DIRECTIONS = (UP, DOWN, BOTH)
LEARNING, NORMAL, ANOMALY, NO_DATA = "learning", "normal", "anomaly", "no-data"


class Expectation(Protocol):
    """What scores a minute: the model, or a baseline it is measured against."""

    def step(self, ts_ms: int, value: float, n: float | None = None) -> Point | None: ...

    def history_minutes(self) -> int: ...

    def state(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Settings:
    params: Params = field(default_factory=Params)
    rule: RuleParams = field(default_factory=RuleParams)
    direction: str = BOTH
    min_count: float = 0.0
    min_change: float = 0.2
    warmup_minutes: int = 7 * DAY_MINUTES

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction {self.direction!r}: expected one of {', '.join(DIRECTIONS)}")


@dataclass(frozen=True)
class Scored:
    """A minute's verdict. ``expected``, the band and ``score`` are None while there is no expectation yet."""

    ts_ms: int
    value: float
    expected: float | None
    lower: float | None
    upper: float | None
    score: float | None
    flagged: bool
    status: str
    since_ms: int | None  # the start of the open anomaly

    @property
    def anomaly(self) -> bool:
        return self.status == ANOMALY


class Detector:
    """Scores the minutes of one series in time order, learning as it goes (no look-ahead)."""

    __slots__ = ("model", "rule", "settings")

    def __init__(self, settings: Settings, model: Expectation | None = None, rule: Rule | None = None) -> None:
        self.settings = settings
        self.model: Expectation = model or Model(settings.params)
        self.rule = rule or Rule(settings.rule)

    def step(self, ts_ms: int, value: float, n: float | None = None) -> Scored:
        s = self.settings
        point = self.model.step(ts_ms, value, n)
        if point is None:
            return Scored(ts_ms, value, None, None, None, None, False, NO_DATA, self.rule.open_since)
        warm = self.model.history_minutes() > s.warmup_minutes
        flagged = warm and point.outside and self._matters(value, point.expected, point.score, n)
        since = self.rule.step(ts_ms, flagged) if warm else None
        status = ANOMALY if since is not None else NORMAL if warm else LEARNING
        return Scored(ts_ms, value, point.expected, point.lower, point.upper, point.score, flagged, status, since)

    def _matters(self, value: float, expected: float, score: float, n: float | None) -> bool:
        s = self.settings
        if (s.direction == UP and score < 0) or (s.direction == DOWN and score > 0):
            return False
        kind = s.params.kind
        busy = max(value, expected) if kind == COUNT else n
        if busy is not None and busy < s.min_count:
            return False
        change = abs(value - expected)
        return change >= s.min_change if kind == RATIO else change >= s.min_change * abs(expected)

    def state(self) -> dict[str, Any]:
        return {"model": self.model.state(), "rule": self.rule.state()}

    @classmethod
    def restore(cls, settings: Settings, state: dict[str, Any]) -> Detector:
        return cls(
            settings,
            Model.restore(settings.params, state["model"]),
            Rule.restore(settings.rule, state["rule"]),
        )
