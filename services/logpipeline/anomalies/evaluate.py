"""The benchmark: detectors side by side on per-minute traffic with injected incidents (pure, no I/O).

Every series of every API is scored minute by minute from the first minute (no look-ahead). Only what happens
after the warm-up counts:

- an incident is *detected* when its series is in an anomaly at some minute from its start to ``GRACE`` minutes
  after its end; its delay is from its start to the end of the first such minute (when the verdict can exist);
- an alarm (a run of anomalous minutes) is *true* when it overlaps an incident of its own series (with the
  grace), *false* otherwise; alarms over incidents that began in the warm-up are neither;
- recall is detected incidents over incidents, precision true alarms over alarms, and the false-alarm rate is
  false alarms per series per day.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from logpipeline.anomalies import catalogue
from logpipeline.anomalies.baselines import RollingZ, StaticThreshold
from logpipeline.anomalies.detector import Detector, Expectation, Settings
from logpipeline.anomalies.model import DAY_MINUTES, MINUTE_MS, Model
from logpipeline.contracts import ANOMALY_METRICS
from logpipeline.generator.minutes import KINDS, Incident, Minutes

GRACE = 3
Flags = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Candidate:
    name: str
    make: Callable[[Settings], Expectation]


CANDIDATES = (
    Candidate("seasonal model", lambda s: Model(s.params)),
    Candidate("static threshold", lambda s: StaticThreshold(s.params, s.warmup_minutes)),
    Candidate("rolling z-score", lambda s: RollingZ(s.params)),
)


@dataclass(frozen=True)
class Figures:
    candidate: str
    incidents: int
    detected: int
    recall_by_kind: dict[str, float]
    alarms: int
    false_alarms: int
    median_delay_min: float | None
    false_per_series_day: float
    updates: int
    cpu_s: float

    @property
    def recall(self) -> float:
        return self.detected / self.incidents if self.incidents else 1.0

    @property
    def precision(self) -> float:
        return (self.alarms - self.false_alarms) / self.alarms if self.alarms else 1.0

    @property
    def updates_per_s(self) -> float:
        return self.updates / self.cpu_s if self.cpu_s > 0 else float("inf")


def score(data: Minutes, candidate: Candidate, warmup_minutes: int) -> tuple[dict[tuple[int, str], Flags], int, float]:
    """Anomaly flags per (api, metric) series, with the number of updates and their CPU seconds."""
    flags: dict[tuple[int, str], Flags] = {}
    updates, cpu = 0, 0.0
    stamps = [data.start_ms + i * MINUTE_MS for i in range(data.minutes)]
    for api in range(len(data.apis)):
        for metric in ANOMALY_METRICS:
            settings = catalogue.settings(metric, warmup_minutes)
            detector = Detector(settings, candidate.make(settings))
            values, counts = data.series(api, metric)
            vs = values.tolist()
            ns = counts.tolist() if counts is not None else [None] * len(vs)
            out = np.zeros(len(vs), dtype=np.bool_)
            began = time.process_time()
            for i, (ts, v, n) in enumerate(zip(stamps, vs, ns, strict=True)):
                out[i] = detector.step(ts, v, n).anomaly
            cpu += time.process_time() - began
            updates += len(vs)
            flags[(api, metric)] = out
    return flags, updates, cpu


def runs(flags: Flags) -> Iterator[tuple[int, int]]:
    """The runs of True in ``flags`` as ``[start, end)``."""
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    yield from zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True)


def judge(
    data: Minutes, flags: dict[tuple[int, str], Flags], warmup_minutes: int, candidate: str, updates: int, cpu: float
) -> Figures:
    """The figures of one candidate's flags against the injected incidents."""
    by_series: dict[tuple[int, str], list[Incident]] = {}
    for incident in data.incidents:
        by_series.setdefault((incident.api, incident.metric), []).append(incident)
    delays: list[int] = []
    found = {kind: [0, 0] for kind in KINDS}
    alarms = false = 0
    for key, series in flags.items():
        incidents = by_series.get(key, [])
        for incident in incidents:
            if incident.start < warmup_minutes:
                continue
            found[incident.kind][1] += 1
            hits = np.flatnonzero(series[incident.start : incident.end + GRACE])
            if hits.size:
                found[incident.kind][0] += 1
                delays.append(int(hits[0]) + 1)
        for start, end in runs(series[warmup_minutes:]):
            start, end = start + warmup_minutes, end + warmup_minutes
            over = [i for i in incidents if start < i.end + GRACE and i.start < end]
            if over and all(i.start < warmup_minutes for i in over):
                continue
            alarms += 1
            false += not over
    days = (data.minutes - warmup_minutes) / DAY_MINUTES
    return Figures(
        candidate=candidate,
        incidents=sum(t for _, t in found.values()),
        detected=sum(d for d, _ in found.values()),
        recall_by_kind={k: (d / t if t else 1.0) for k, (d, t) in found.items()},
        alarms=alarms,
        false_alarms=false,
        median_delay_min=statistics.median(delays) if delays else None,
        false_per_series_day=false / (len(flags) * days) if days > 0 else 0.0,
        updates=updates,
        cpu_s=cpu,
    )


def evaluate(data: Minutes, candidate: Candidate, warmup_minutes: int = 7 * DAY_MINUTES) -> Figures:
    flags, updates, cpu = score(data, candidate, warmup_minutes)
    return judge(data, flags, warmup_minutes, candidate.name, updates, cpu)


def summary(f: Figures) -> dict[str, object]:
    """The figures as plain data (the JSON line of ``logpipeline anomalies eval``)."""
    return {
        "candidate": f.candidate,
        "recall": round(f.recall, 4),
        "precision": round(f.precision, 4),
        "median_delay_min": f.median_delay_min,
        "false_per_series_day": round(f.false_per_series_day, 4),
        "incidents": f.incidents,
        "alarms": f.alarms,
        "false_alarms": f.false_alarms,
        "recall_by_kind": {k: round(v, 4) for k, v in f.recall_by_kind.items()},
        "updates": f.updates,
        "cpu_s": round(f.cpu_s, 3),
        "updates_per_s": round(f.updates_per_s),
    }
