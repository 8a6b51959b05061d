"""Brings the whole pipeline up on the local stack and takes it down again.

Order: stack components → topics → metrics table → sink, dashboard, Spark job → traffic source.
Each service is a supervised process (pid file and log in the state directory) that must answer its
``/readyz`` before the next step; a service that dies on start is reported with its log file.
"""

from __future__ import annotations

import secrets
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from logpipeline.config import Settings
from logpipeline.kafka import topics
from logpipeline.metrics import store
from logpipeline.pipeline.processes import Options, Service, admin_password_file, services, stack_components
from logpipeline.pipeline.regions import plan as regions_plan
from logpipeline.pipeline.regions import regional_settings
from logpipeline.stack import lifecycle, process
from logpipeline.stack.errors import StackError

SERVICE_NAMES = ("sink", "dashboard", "alerts", "spark", "correction", "anomalies", "training", "ingest", "generator")


def pid_file(settings: Settings, name: str) -> Path:
    """Service files carry the pipeline's name, so several pipelines can share one stack."""
    return settings.run / f"{settings.names.pipeline}.{name}.pid"


def log_file(settings: Settings, name: str) -> Path:
    return settings.logs / f"{settings.names.pipeline}.{name}.log"


def instances(settings: Settings, name: str) -> list[str]:
    """The processes of service ``name``: its own and regional pipelines' (``<name>.<region>``), by pid file."""
    own = len(settings.names.pipeline) + 1  # "<pipeline>." before the service's name
    regional = sorted(p.name[own : -len(".pid")] for p in settings.run.glob(f"{settings.names.pipeline}.{name}.*.pid"))
    return [name, *regional]


def running(settings: Settings) -> list[str]:
    found = [i for name in SERVICE_NAMES for i in instances(settings, name)]
    return [i for i in found if process.read_pid(pid_file(settings, i)) is not None]


def _cli() -> str:
    exe = Path(sys.executable).with_name("logpipeline")
    return str(exe) if exe.exists() else "logpipeline"


def planned(settings: Settings, options: Options, regions: Sequence[str] = ()) -> list[Service]:
    if regions:
        return regions_plan(settings, options, regions, python=sys.executable, cli=_cli())
    return services(settings, options, python=sys.executable, cli=_cli())


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except Exception:
        return False


def _wait(settings: Settings, service: Service) -> None:
    pidfile, log = pid_file(settings, service.name), log_file(settings, service.name)
    deadline = time.monotonic() + service.ready_timeout
    while time.monotonic() < deadline:
        if process.read_pid(pidfile) is None:
            last = process.tail(log, 1).strip()[:200]
            raise StackError(service.name, f"crashed on start: {last or 'no output'}", log)
        if service.ready_url is None or _ready(service.ready_url):
            return
        time.sleep(0.5)
    raise StackError(service.name, f"not ready after {service.ready_timeout:.0f}s", log)


def start_service(settings: Settings, service: Service) -> None:
    pidfile = pid_file(settings, service.name)
    if process.read_pid(pidfile) is None:
        for port_url in filter(None, [service.ready_url]):
            port = int(port_url.split(":")[2].split("/")[0])
            if not process.port_is_free(settings.host, port):
                raise StackError(service.name, f"port {port} on {settings.host} is already in use by another process")
        process.spawn(service.argv, pidfile, log_file(settings, service.name), env=service.env)


def admin_password(settings: Settings) -> Path:
    """The file of the dashboard's first user's password: a random one, made once, only its owner reads it."""
    path = admin_password_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(secrets.token_urlsafe(18) + "\n")
    return path


def up(settings: Settings, options: Options, report: lifecycle.Report, regions: Sequence[str] = ()) -> list[Service]:
    """Start everything the options ask for (with ``regions``: one pipeline per region and the dashboard over them,
    ``logpipeline.pipeline.regions``); on failure stop what was started and raise StackError."""
    plan = planned(settings, options, regions)
    lifecycle.up(settings, report, only=stack_components(options))
    report("topics", "ensuring topics")
    every = [regional_settings(settings, r, i).names for i, r in enumerate(regions)] or [settings.names]
    wanted = [spec for names in every for spec in topics.default_topics(names)]
    for change in topics.ensure(topics.admin_client(settings.kafka_bootstrap), wanted):
        report("topics", str(change))
    report("store", f"ensuring table {settings.names.table}")
    store.init_table(store.client(settings.dynamodb_endpoint), settings.names.table)
    if options.dashboard:
        admin_password(settings)
    try:
        for service in plan:
            report(service.name, "starting")
            start_service(settings, service)
            _wait(settings, service)
            report(service.name, "ready")
    except BaseException:
        down(settings, lambda c, m: None, stack=False)
        raise
    return plan


def down(settings: Settings, report: lifecycle.Report, stack: bool = True) -> int:
    """Stop the source first, then the job, the sink and the dashboard, then (optionally) the stack."""
    stopped = 0
    for name in reversed(SERVICE_NAMES):
        for instance in instances(settings, name):
            if process.stop(pid_file(settings, instance), timeout=60.0):
                stopped += 1
                report(instance, "stopped")
    if stack:
        stopped += lifecycle.down(settings, report)
    return stopped
