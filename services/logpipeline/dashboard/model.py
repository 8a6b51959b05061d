"""The plain data one dashboard refresh shows, computed from bucket aggregates, and its JSON form (pure).

``summarize`` turns the aggregates of a range (any resolution, all APIs) into a ``Snapshot`` through the
roll-ups of ``logpipeline.metrics.rollup``; the pure figure and component builders draw from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from logpipeline.alerting.lifecycle import AlertState, Silence, page_firing
from logpipeline.alerting.message import where
from logpipeline.dashboard import buckets
from logpipeline.events.schema import ERROR_LEVELS, LOG_LEVELS
from logpipeline.metrics import rollup
from logpipeline.metrics.records import Aggregate

TOP_N = 5


@dataclass(frozen=True)
class SloBoard:
    """The SLO page's data: the alerts service's last summaries (``at``: when), alert states and silences."""

    at: int | None
    summaries: list[dict[str, Any]]
    states: list[AlertState]
    silences: list[Silence]
    problem: str = ""

    def rows(self) -> list[dict[str, Any]]:
        """One row per SLO and API (and region), the least budget left first."""
        return sorted(
            self.summaries, key=lambda r: (r.get("budgetRemaining", 1.0), r["slo"], r["api"], r.get("region", ""))
        )

    def paging(self) -> list[AlertState]:
        """Alerts firing at page severity (the overview's banner)."""
        return sorted(page_firing(self.states), key=lambda s: (s.group, s.region))

    def active_silences(self, now_ms: int) -> list[Silence]:
        return sorted((s for s in self.silences if s.starts <= now_ms < s.ends), key=lambda s: s.ends)


@dataclass(frozen=True)
class Mark:
    """A moment marked on the time series: an annotation (deploy, incident, note) or an alert firing or resolving."""

    at: int
    kind: str
    text: str
    api: str | None = None  # the API it is about (None: all)


def alert_marks(states: list[AlertState], start_ms: int, end_ms: int) -> list[Mark]:
    """Each alert's fired, escalated and resolved moments within ``[start_ms, end_ms)``."""
    return sorted(
        (
            Mark(at, "alert", f"{event} {severity}: {state.slo} ({state.api}{where(state.region)})", state.api)
            for state in states
            for event, severity, at in state.history
            if start_ms <= at < end_ms
        ),
        key=lambda m: (m.at, m.text),
    )


@dataclass(frozen=True)
class AnomalyView:
    """What the anomaly scorer says about a range: its anomalies (newest first), its status (cold start), and for
    one API its minutes' scores (minute start -> metric -> score document). ``problem``: why it says nothing."""

    anomalies: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, Any] | None = None
    scores: dict[int, dict[str, Any]] = field(default_factory=dict)
    problem: str | None = None


def merged_status(statuses: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The scorers' status over several regions: every region's series still learning
    and the sum of their series; None when no region's scorer has scored yet; one region's as it is."""
    found = [s for s in statuses if s is not None]
    if len(statuses) == 1 or not found:
        return found[0] if found else None
    learning = [entry for s in found for entry in s.get("learning") or []]
    warmup = max((s.get("warmup_minutes") or 0 for s in found), default=0) or None
    return {"learning": learning, "series": sum(s.get("series", 0) for s in found), "warmup_minutes": warmup,
            "written_until": min((w for s in found if (w := s.get("written_until"))), default=None)}  # fmt: skip


def anomaly_marks(anomalies: list[dict[str, Any]], start_ms: int, end_ms: int) -> list[Mark]:
    """Each anomaly's start within ``[start_ms, end_ms)`` as a mark on the time series."""
    return [
        Mark(
            a["since"],
            "anomaly",
            f"{a['metric']} anomaly{where(a.get('region'))}: {a['observed']:.4g} where {a['expected']:.4g} was"
            " expected",
            a["api"],
        )
        for a in anomalies
        if start_ms <= a["since"] < end_ms and a.get("expected") is not None
    ]


@dataclass(frozen=True)
class Sink:
    """The sink's health as its metrics endpoint reports it: ``state`` is up, down or off (not configured)."""

    state: str = "off"
    lag: float | None = None


@dataclass(frozen=True)
class Arrivals:
    """What the streaming job set aside within a view's range: events older than its watermark (counted later by
    the correction job) and events stamped too far ahead of their arrival (dead-lettered)."""

    late: int = 0
    too_far_ahead: int = 0


@dataclass(frozen=True)
class Bucket:
    """Latency percentiles and error count of one API in one bucket (drill-down)."""

    start: int
    count: int
    errors: int
    avg: float
    p50: float
    p95: float
    p99: float


@dataclass(frozen=True)
class RegionRow:
    """One regional pipeline's figures over a view's range (the regions side by side) and how fresh its data is."""

    region: str
    requests: int
    errors: int
    error_rate: float | None
    p95: float
    newest_window_end: int | None
    age_seconds: float | None
    stale: bool


def region_latency(
    by_region: dict[str, list[Aggregate]], apis: list[str]
) -> tuple[list[rollup.Latency], dict[str, float]]:
    """(latency by API over every region, each region's p95 over its APIs): each (region, API)'s sketches are merged
    once (``buckets.merge``), then those few merged sketches per API and per region, so the regions side by side
    cost no second pass over the windows."""
    merged: dict[str, dict[str, Aggregate]] = {}
    for region, windows in by_region.items():
        groups = rollup.by_api(rollup.filter_apis(windows, apis))
        merged[region] = {api: buckets.merge(group, 0, 1) for api, group in groups.items()}
    per_api: dict[str, list[Aggregate]] = {}
    for held in merged.values():
        for api, agg in held.items():
            per_api.setdefault(api, []).append(agg)
    latency = [rollup.latency(api, per_api[api]) for api in sorted(per_api)]
    return latency, {region: rollup.latency("*", list(held.values())).p95 for region, held in merged.items()}


def region_rows(
    by_region: dict[str, list[Aggregate]],
    newest_end: dict[str, int | None],
    apis: list[str],
    now_ms: int,
    stale_s: float,
    p95: dict[str, float] | None = None,
) -> list[RegionRow]:
    """Each region's totals over the APIs in ``apis`` (all when empty), its newest window and whether it is stale
    (``rollup.stale_regions``); ``p95``: each region's, when ``region_latency`` has them."""
    stale = set(rollup.stale_regions(newest_end, now_ms, stale_s))
    rows = []
    for region, windows in by_region.items():
        selected = rollup.filter_apis(windows, apis)
        sla = rollup.sla(selected)
        end = newest_end.get(region)
        age = None if end is None else max(0.0, (now_ms - end) / 1000)
        p95_ms = p95[region] if p95 is not None and region in p95 else rollup.latency("*", selected).p95
        rate = sla.errors / sla.total if sla.total else None
        rows.append(RegionRow(region, sla.total, sla.errors, rate, p95_ms, end, age, region in stale))
    return rows


@dataclass(frozen=True)
class Snapshot:
    start_ms: int
    end_ms: int
    now_ms: int
    resolution: str
    apis: list[str]
    apis_available: list[str]
    totals: dict[str, int]
    sla: rollup.Sla
    latency: list[rollup.Latency]
    top_errors: list[rollup.ApiErrors]
    series_starts: list[int]
    series: dict[str, list[int]]
    newest_window_end: int | None
    age_seconds: float | None
    sink: Sink = field(default_factory=Sink)
    detail: list[Bucket] = field(default_factory=list)
    corrected_at: int | None = None  # when late or corrected data last changed a settled hour of the range
    arrivals: Arrivals = field(default_factory=Arrivals)
    region: str | None = None  # the region shown (None: a single-region store, or every region merged)
    regions: list[RegionRow] = field(default_factory=list)  # the regions side by side (a store with regions)

    @property
    def stale_regions(self) -> list[str]:
        """The regions the figures are missing (their newest window is older than the stale age)."""
        return [r.region for r in self.regions if r.stale]

    @property
    def corrected_seconds(self) -> float | None:
        return None if self.corrected_at is None else max(0.0, (self.now_ms - self.corrected_at) / 1000)


def detail(windows: list[Aggregate], api: str, start_ms: int, end_ms: int, step_ms: int) -> list[Bucket]:
    """Per bucket of ``[start_ms, end_ms)``: the API's count, errors, average and percentiles (empty: zeros)."""
    by_start: dict[int, list[Aggregate]] = {}
    for w in windows:
        if w.api == api:
            by_start.setdefault(w.window_start - w.window_start % step_ms, []).append(w)
    out = []
    for start in range(start_ms - start_ms % step_ms, end_ms, step_ms):
        group = by_start.get(start, [])
        lat = rollup.latency(api, group)
        errors = sum(w.log_count for w in group if w.log_level in ERROR_LEVELS)
        out.append(Bucket(start, lat.count, errors, lat.avg, lat.p50, lat.p95, lat.p99))
    return out


def summarize(
    windows: list[Aggregate],
    start_ms: int,
    end_ms: int,
    now_ms: int,
    resolution: str,
    step_ms: int,
    apis: list[str],
    newest_window_end: int | None,
    sink: Sink,
    drill: str | None = None,
    corrected_at: int | None = None,
    arrivals: Arrivals | None = None,
    latency: list[rollup.Latency] | None = None,
) -> Snapshot:
    """Everything a page shows: figures over the APIs in ``apis`` (all when empty) and the drill-down; ``latency``:
    the latency by API when the caller has it already (``region_latency``)."""
    selected = rollup.filter_apis(windows, apis)
    series = rollup.series_by_level(selected, start_ms, end_ms, step_ms)
    age = None if newest_window_end is None else max(0.0, (now_ms - newest_window_end) / 1000)
    return Snapshot(
        start_ms=start_ms,
        end_ms=end_ms,
        now_ms=now_ms,
        resolution=resolution,
        apis=list(apis),
        apis_available=sorted({w.api for w in windows}),
        totals=rollup.totals_by_level(selected),
        sla=rollup.sla(selected),
        latency=list(rollup.latency_by_api(selected).values()) if latency is None else latency,
        top_errors=rollup.top_apis_by_errors(selected, TOP_N),
        series_starts=[p.start for p in series],
        series={level: [p.counts.get(level, 0) for p in series] for level in LOG_LEVELS},
        newest_window_end=newest_window_end,
        age_seconds=age,
        sink=sink,
        detail=detail(windows, drill, start_ms, end_ms, step_ms) if drill else [],
        corrected_at=corrected_at,
        arrivals=arrivals or Arrivals(),
    )
