"""Settings of the dashboard process, read from the environment (clear errors naming the variable).

``LOGPIPELINE_TABLE`` and ``LOGPIPELINE_DYNAMODB_ENDPOINT`` (empty: AWS) name the metrics table; unset, the
local stack's server. ``LOGPIPELINE_SINK_METRICS_URL`` is the sink's Prometheus endpoint for the lag badge
(empty or ``off``: not shown). ``LOGPIPELINE_DASHBOARD_SETTLE_SECONDS`` is how old a minute must be before
its windows are final and cached (default: the streaming job's ``LOGPIPELINE_WATERMARK_SECONDS`` + 150, else
180), ``LOGPIPELINE_DASHBOARD_CACHE_SECONDS`` how long a cached bucket is kept (default 1800; 0: no cache) and
``LOGPIPELINE_DASHBOARD_TAIL_SECONDS`` how long one read of the unsettled tail serves refreshes (default 5).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from logpipeline import config
from logpipeline.metrics import layout


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


def load() -> DashboardSettings:
    stack = config.load()
    if "LOGPIPELINE_DYNAMODB_ENDPOINT" in os.environ:
        endpoint = os.environ["LOGPIPELINE_DYNAMODB_ENDPOINT"].strip() or None
    else:
        endpoint = stack.dynamodb_endpoint
    sink = os.environ.get("LOGPIPELINE_SINK_METRICS_URL", "").strip()
    return DashboardSettings(
        table=stack.names.table,
        endpoint=endpoint,
        shards=env_int("LOGPIPELINE_TABLE_SHARDS", layout.DEFAULT_SHARDS, 1),
        sink_metrics_url=None if sink.lower() in ("", "off", "none") else sink,
        settle_s=env_int("LOGPIPELINE_DASHBOARD_SETTLE_SECONDS", env_int("LOGPIPELINE_WATERMARK_SECONDS", 30) + 150),
        cache_s=env_int("LOGPIPELINE_DASHBOARD_CACHE_SECONDS", 1800),
        tail_s=env_int("LOGPIPELINE_DASHBOARD_TAIL_SECONDS", 5),
    )
