"""``logpipeline dashboard``: serve the Dash dashboard with gunicorn (settings passed on as environment)."""

from __future__ import annotations

import os
import sys

import typer

DEFAULT_SINK_METRICS = "http://127.0.0.1:9108/metrics"


def run(
    bind: str = typer.Option("127.0.0.1:8050", help="address:port to listen on"),
    workers: int = typer.Option(2, min=1, help="gunicorn worker processes"),
    threads: int = typer.Option(4, min=1, help="threads per worker"),
    table: str | None = typer.Option(None, help="metrics table; default LOGPIPELINE_TABLE or agg_system_logs"),
    endpoint: str | None = typer.Option(None, help="DynamoDB API URL; default: the local stack's server"),
    sink_metrics_url: str = typer.Option(
        DEFAULT_SINK_METRICS, help="the sink's Prometheus endpoint for the lag badge; 'off' to hide it"
    ),
) -> None:
    """Serve the dashboard (gunicorn; any number of workers: they share no state) until SIGTERM or Ctrl-C."""
    env = {
        "LOGPIPELINE_DASHBOARD_BIND": bind,
        "LOGPIPELINE_DASHBOARD_WORKERS": str(workers),
        "LOGPIPELINE_DASHBOARD_THREADS": str(threads),
        "LOGPIPELINE_SINK_METRICS_URL": sink_metrics_url,
    }
    if table:
        env["LOGPIPELINE_TABLE"] = table
    if endpoint:
        env["LOGPIPELINE_DYNAMODB_ENDPOINT"] = endpoint
    os.environ.update(env)
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:logpipeline.dashboard.gunicorn_conf"]
    os.execv(sys.executable, [*argv, "logpipeline.dashboard.app:server"])
