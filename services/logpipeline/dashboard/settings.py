"""Settings of the dashboard process, read from the environment (clear errors naming the variable).

``LOGPIPELINE_TABLE`` and ``LOGPIPELINE_DYNAMODB_ENDPOINT`` (empty: AWS) name the metrics table; unset, the
local stack's server. ``LOGPIPELINE_SINK_METRICS_URL`` is the sink's Prometheus endpoint for the lag badge
(empty or ``off``: not shown); ``LOGPIPELINE_JOB_METRICS_URL`` the streaming job's, for the banner on late and
skewed events. ``LOGPIPELINE_DASHBOARD_SETTLE_SECONDS`` is how old a minute must be before
its windows are final and cached (default: the streaming job's ``LOGPIPELINE_WATERMARK_SECONDS`` + 150, else
180; at least 90, the age after which a write bumps its hour's revision), ``LOGPIPELINE_DASHBOARD_CACHE_SECONDS`` after how long a cached bucket is read again, in the background
(default 1800; 0: no cache) and
``LOGPIPELINE_DASHBOARD_TAIL_SECONDS`` how long one read of the unsettled tail serves refreshes (default 5).
``LOGPIPELINE_DASHBOARD_REVISION_CHECK_SECONDS`` how often a worker reads the hours' revisions (default 2).
``LOGPIPELINE_DASHBOARD_WARM`` lists the preset ranges whose buckets a worker caches in the background when it
starts (default ``1h,24h,7d``; empty: none).
``LOGPIPELINE_DASHBOARD_REGIONS`` lists the regional pipelines whose items the store holds (``eu-west-1,us-east-1``;
default: this pipeline's ``LOGPIPELINE_REGION``, else none: a single-region store): the page then offers the
global view (every region merged) or one region, shows the regions side by side, and marks a region stale when its
newest window ended more than ``LOGPIPELINE_DASHBOARD_STALE_SECONDS`` ago (default 300).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from logpipeline import config, contracts
from logpipeline.dashboard import timerange
from logpipeline.metrics import layout, replicas, revisions


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number


@dataclass(frozen=True)
class DashboardSettings:
    table: str
    endpoint: str | None
    shards: int
    sink_metrics_url: str | None
    settle_s: int
    cache_s: int
    tail_s: int = 5
    warm: list[str] = field(default_factory=list)
    revision_check_s: float = 2.0
    job_metrics_url: str | None = None
    regions: tuple[str, ...] = ()  # the regional pipelines the store holds (empty: a single-region store)
    stale_s: int = 300  # a region whose newest window ended longer ago than this is stale


def warm_ranges(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in timerange.PRESETS]
    if unknown:
        raise ValueError(f"LOGPIPELINE_DASHBOARD_WARM: expected presets {', '.join(timerange.PRESETS)}, got {unknown}")
    return names


def region_list(text: str) -> tuple[str, ...]:
    """The regions of ``LOGPIPELINE_DASHBOARD_REGIONS`` (default: this pipeline's own region, if any)."""
    try:
        return tuple(replicas.regions(text)) or tuple(filter(None, [config.region()]))
    except ValueError as exc:
        raise ValueError(f"LOGPIPELINE_DASHBOARD_REGIONS: {exc}") from None


def load() -> DashboardSettings:
    stack = config.load()
    if "LOGPIPELINE_DYNAMODB_ENDPOINT" in os.environ:
        endpoint = os.environ["LOGPIPELINE_DYNAMODB_ENDPOINT"].strip() or None
    else:
        endpoint = stack.dynamodb_endpoint
    sink = os.environ.get("LOGPIPELINE_SINK_METRICS_URL", "").strip()
    job = os.environ.get("LOGPIPELINE_JOB_METRICS_URL", "").strip()
    return DashboardSettings(
        table=stack.names.table,
        endpoint=endpoint,
        shards=env_int("LOGPIPELINE_TABLE_SHARDS", layout.DEFAULT_SHARDS, 1),
        sink_metrics_url=None if sink.lower() in ("", "off", "none") else sink,
        settle_s=env_int(
            "LOGPIPELINE_DASHBOARD_SETTLE_SECONDS",
            env_int("LOGPIPELINE_WATERMARK_SECONDS", 30) + 150,
            revisions.MIN_SETTLE_MS // 1000,
        ),
        cache_s=env_int("LOGPIPELINE_DASHBOARD_CACHE_SECONDS", 1800),
        tail_s=env_int("LOGPIPELINE_DASHBOARD_TAIL_SECONDS", 5),
        warm=warm_ranges(os.environ.get("LOGPIPELINE_DASHBOARD_WARM", "1h,24h,7d")),
        revision_check_s=env_int("LOGPIPELINE_DASHBOARD_REVISION_CHECK_SECONDS", 2),
        job_metrics_url=None if job.lower() in ("", "off", "none") else job,
        regions=region_list(os.environ.get(contracts.ENV_DASHBOARD_REGIONS, "")),
        stale_s=env_int(contracts.ENV_DASHBOARD_STALE_SECONDS, 300, 60),
    )
