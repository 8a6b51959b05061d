"""Prometheus metrics of the dashboard; under gunicorn (``PROMETHEUS_MULTIPROC_DIR`` set) summed over workers."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from logpipeline.metrics import rollup

REFRESH_SECONDS = Histogram(
    "logpipeline_dashboard_refresh_seconds",
    "server time of one data refresh (table reads and roll-ups)",
    ["page"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REFRESH_ERRORS = Counter(
    "logpipeline_dashboard_refresh_errors", "refreshes that failed (table unreachable, bad range)", ["page"]
)
ITEMS_READ = Counter("logpipeline_dashboard_items_read", "table items read by Query calls")


def exposition() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def region_exposition(newest_end: dict[str, int | None], now_ms: int, stale_s: float) -> bytes:
    """Each region's freshness as of this scrape (read when scraped, so a region that stopped is flagged even while
    nobody looks at the page): its newest window's age and whether it is stale."""
    registry = CollectorRegistry()
    age = Gauge(
        "logpipeline_dashboard_region_newest_window_age_seconds",
        "seconds since the region's newest window ended (absent: no window in the lookback)",
        ["region"],
        registry=registry,
    )
    stale = Gauge(
        "logpipeline_dashboard_region_stale",
        f"1 when the region's newest window ended more than {stale_s:g} s ago or it has none: the global view "
        "misses it",
        ["region"],
        registry=registry,
    )
    missing = set(rollup.stale_regions(newest_end, now_ms, stale_s))
    for region, end in newest_end.items():
        stale.labels(region).set(1 if region in missing else 0)
        if end is not None:
            age.labels(region).set(max(0.0, (now_ms - end) / 1000))
    return generate_latest(registry)


SIGN_INS = Counter(
    "logpipeline_dashboard_sign_ins", "sign-in attempts by result (ok, refused, error) and how", ["result", "how"]
)

TAILS_OPEN = Gauge("logpipeline_dashboard_live_tails", "live tails open", multiprocess_mode="livesum")
TAILS_REFUSED = Counter(
    "logpipeline_dashboard_live_tails_refused", "live tails refused: the worker's limit was reached"
)
TAIL_SCANNED = Counter("logpipeline_dashboard_live_records_scanned", "input records read by the live-tail consumers")
TAIL_SENT = Counter("logpipeline_dashboard_live_lines_sent", "lines sent to live tails")
TAIL_SAMPLED_OUT = Counter(
    "logpipeline_dashboard_live_lines_sampled_out", "matching lines not sent: over a tail's lines per second"
)
TAIL_ERRORS = Counter("logpipeline_dashboard_live_errors", "live-tail read errors (broker or topic unreachable)")
MARKS_UNREADABLE = Counter(
    "logpipeline_dashboard_marks_unreadable", "refreshes drawn without annotations and alert marks: their tables failed"
)
