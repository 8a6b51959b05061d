"""gunicorn settings of the dashboard from the environment.

``gunicorn -c python:logpipeline.dashboard.gunicorn_conf logpipeline.dashboard.app:server``;
``LOGPIPELINE_DASHBOARD_BIND`` (default 127.0.0.1:8050), ``LOGPIPELINE_DASHBOARD_WORKERS`` (2),
``LOGPIPELINE_DASHBOARD_THREADS`` (4, plus one per live tail a worker may serve:
``LOGPIPELINE_DASHBOARD_LIVE_TAILS``, default 4), ``LOGPIPELINE_DASHBOARD_TIMEOUT`` (60 s). Workers share nothing but
the Prometheus files of ``PROMETHEUS_MULTIPROC_DIR`` (created when unset), so /metrics sums all workers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from logpipeline import contracts
from logpipeline.dashboard.settings import env_int

bind = os.environ.get("LOGPIPELINE_DASHBOARD_BIND", "127.0.0.1:8050")
workers = env_int("LOGPIPELINE_DASHBOARD_WORKERS", 2, 1)
threads = env_int("LOGPIPELINE_DASHBOARD_THREADS", 4, 1) + env_int(
    contracts.ENV_DASHBOARD_LIVE_TAILS, contracts.DASHBOARD_LIVE_TAILS, 0
)
timeout = env_int("LOGPIPELINE_DASHBOARD_TIMEOUT", 60, 1)
graceful_timeout = 20
keepalive = 5
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = None
control_socket_disable = True  # one per user by default: several dashboards (tests, replicas) would share it
errorlog = "-"
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "logpipeline.observability.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}

# Before anything imports prometheus_client: it picks per-process files when it sees the variable at import.
_own_prometheus_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _own_prometheus_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="logpipeline-dashboard-metrics-")


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    if _own_prometheus_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
