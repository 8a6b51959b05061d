"""Every series of every API, minute by minute: verdicts, and anomalies that say what moved (pure, no I/O).

``Scorer.score(minute, figures)`` scores one closed minute of every series it knows (and starts a series for an API
it has not seen). It returns the minute's scores and the anomalies that opened, went on or closed in it. An
anomaly names its series, the metric, what was expected against what was observed (when it opened and at its
worst), since when, and the related series: other APIs' series (and the API's other metrics) that were out of band
in the same minute, the strongest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from logpipeline.anomalies import catalogue
from logpipeline.anomalies.detector import ANOMALY, Detector, Scored
from logpipeline.anomalies.series import NONE, Figures
from logpipeline.contracts import ANOMALY_METRICS

RELATED = 5


@dataclass(frozen=True)
class Score:
    api: str
    metric: str
    minute: int
    scored: Scored
    history_minutes: int

    def doc(self) -> dict[str, Any]:
        s = self.scored
        return {
            "api": self.api, "metric": self.metric, "minute": self.minute, "value": s.value,
            "expected": s.expected, "lower": s.lower, "upper": s.upper,
            "score": None if s.score is None else round(s.score, 3), "status": s.status, "since": s.since_ms,
            "history_minutes": self.history_minutes,
        }  # fmt: skip


@dataclass(frozen=True)
class Anomaly:
    """One anomaly of one series, from its first flagged minute to its last anomalous one."""

    api: str
    metric: str
    since: int
    last: int
    expected: float | None
    observed: float
    worst_expected: float | None
    worst_observed: float
    worst_score: float
    related: tuple[tuple[str, str, float], ...] = ()
    open: bool = True

    @property
    def key(self) -> str:
        return f"{self.api}|{self.metric}|{self.since}"

    def doc(self) -> dict[str, Any]:
        return {
            "api": self.api, "metric": self.metric, "since": self.since, "last": self.last, "open": self.open,
            "expected": self.expected, "observed": self.observed, "worst_expected": self.worst_expected,
            "worst_observed": self.worst_observed, "worst_score": round(self.worst_score, 3),
            "related": [{"api": a, "metric": m, "score": round(z, 3)} for a, m, z in self.related],
        }  # fmt: skip


@dataclass
class Minute:
    """What scoring one minute gave."""

    minute: int
    scores: list[Score] = field(default_factory=list)
    opened: list[Anomaly] = field(default_factory=list)
    updated: list[Anomaly] = field(default_factory=list)
    closed: list[Anomaly] = field(default_factory=list)


class Scorer:
    """The detectors of every (api, metric) series, and the anomalies open now."""

    def __init__(self, detectors: dict[tuple[str, str], Detector] | None = None, warmup_minutes: int | None = None):
        self.detectors = detectors or {}
        self.warmup_minutes = warmup_minutes
        self.open: dict[tuple[str, str], Anomaly] = {}
        self.last_minute: int | None = None

    def apis(self) -> list[str]:
        return sorted({api for api, _ in self.detectors})

    def _detector(self, api: str, metric: str) -> Detector:
        key = (api, metric)
        if key not in self.detectors:
            self.detectors[key] = Detector(catalogue.settings(metric, self.warmup_minutes))
        return self.detectors[key]

    def score(self, minute: int, figures: Mapping[str, Figures]) -> Minute:
        """Score ``minute`` (its start, epoch ms) for every known API and every API in ``figures``."""
        if self.last_minute is not None and minute <= self.last_minute:
            raise ValueError(f"minute {minute}: already scored up to {self.last_minute}; minutes go forward only")
        self.last_minute = minute
        out = Minute(minute)
        for api in sorted(set(self.apis()) | set(figures)):
            fig = figures.get(api, NONE)
            for metric in ANOMALY_METRICS:
                value, n = fig.value(metric)
                detector = self._detector(api, metric)
                if value is None:
                    continue
                scored = detector.step(minute, value, n)
                out.scores.append(Score(api, metric, minute, scored, detector.model.history_minutes()))
        self._anomalies(out)
        return out

    def _anomalies(self, out: Minute) -> None:
        outside = sorted(
            ((s.api, s.metric, s.scored.score) for s in out.scores if s.scored.score is not None and s.scored.flagged),
            key=lambda t: -abs(t[2]),
        )
        scored = {(s.api, s.metric): s for s in out.scores}
        for key, anomaly in list(self.open.items()):
            s = scored.get(key)
            if s is not None and s.scored.status != ANOMALY:  # a minute without data leaves it as it was
                del self.open[key]
                out.closed.append(replace(anomaly, open=False))
        for s in out.scores:
            sc = s.scored
            if sc.status != ANOMALY or sc.since_ms is None:
                continue
            key = (s.api, s.metric)
            score = sc.score or 0.0
            known = self.open.get(key)
            if known is None:
                related = tuple((a, m, z) for a, m, z in outside if (a, m) != key)[:RELATED]
                known = Anomaly(s.api, s.metric, sc.since_ms, s.minute, sc.expected, sc.value, sc.expected, sc.value,
                                score, related)  # fmt: skip
                out.opened.append(known)
            else:
                worse = abs(score) > abs(known.worst_score)
                known = replace(
                    known,
                    last=s.minute,
                    worst_expected=sc.expected if worse else known.worst_expected,
                    worst_observed=sc.value if worse else known.worst_observed,
                    worst_score=score if worse else known.worst_score,
                )
                out.updated.append(known)
            self.open[key] = known

    def learning(self) -> list[tuple[str, str, int]]:
        """Series still learning, with their history in minutes (the UI says so)."""
        out = []
        for (api, metric), d in sorted(self.detectors.items()):
            if d.model.history_minutes() <= d.settings.warmup_minutes:
                out.append((api, metric, d.model.history_minutes()))
        return out
