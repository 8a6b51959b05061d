"""``logpipeline dashboard``: serve the Dash dashboard with gunicorn (settings passed on as environment)."""

from __future__ import annotations

import os
import sys

import typer

from logpipeline import config


def run(
    bind: str | None = typer.Option(
        None, envvar="LOGPIPELINE_DASHBOARD_BIND", help="address:port to listen on; default 127.0.0.1:8050"
    ),
    workers: int = typer.Option(2, min=1, envvar="LOGPIPELINE_DASHBOARD_WORKERS", help="gunicorn worker processes"),
    threads: int = typer.Option(4, min=1, envvar="LOGPIPELINE_DASHBOARD_THREADS", help="threads per worker"),
    table: str | None = typer.Option(None, help="metrics table; default LOGPIPELINE_TABLE or agg_system_logs"),
    endpoint: str | None = typer.Option(None, help="DynamoDB API URL; default: the local stack's server"),
    sink_metrics_url: str | None = typer.Option(
        None,
        envvar="LOGPIPELINE_SINK_METRICS_URL",
        help="the sink's Prometheus endpoint for the lag badge ('off' hides it); default: the local sink's",
    ),
) -> None:
    """Serve the dashboard (gunicorn; any number of workers: they share no state) until SIGTERM or Ctrl-C."""
    settings = config.load()
    host, ports = settings.host, settings.ports
    env = {
        "LOGPIPELINE_DASHBOARD_BIND": bind or f"{host}:{ports.dashboard}",
        "LOGPIPELINE_DASHBOARD_WORKERS": str(workers),
        "LOGPIPELINE_DASHBOARD_THREADS": str(threads),
        "LOGPIPELINE_SINK_METRICS_URL": sink_metrics_url or f"http://{host}:{ports.sink_http}/metrics",
    }
    if table:
        env["LOGPIPELINE_TABLE"] = table
    if endpoint:
        env["LOGPIPELINE_DYNAMODB_ENDPOINT"] = endpoint
    os.environ.update(env)
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:logpipeline.dashboard.gunicorn_conf"]
    os.execv(sys.executable, [*argv, "logpipeline.dashboard.app:server"])
