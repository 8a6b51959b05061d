"""``up``, ``down`` and ``status`` over all components, with progress reported through a callback."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from logpipeline.config import Settings
from logpipeline.stack import process
from logpipeline.stack.component import Component
from logpipeline.stack.dynamodb import DynamoDb
from logpipeline.stack.errors import StackError
from logpipeline.stack.hdfs import Hdfs
from logpipeline.stack.kafka import Kafka

Report = Callable[[str, str], None]  # (component, message)


@dataclass(frozen=True)
class ProcessStatus:
    component: str
    process: str
    address: str
    pid: int | None
    healthy: bool
    rss: int


def all_components(settings: Settings) -> list[Component]:
    """The local stack's components in start order."""
    return [Kafka(settings), Hdfs(settings), DynamoDb(settings)]


def _running(component: Component) -> dict[str, int | None]:
    return {spec.name: process.read_pid(component.pid_file(spec.name)) for spec in component.processes()}


def _check_ports(component: Component) -> None:
    for label, port in component.ports().items():
        if not process.port_is_free(component.settings.host, port):
            raise StackError(
                component.name,
                f"port {port} ({label}) on {component.settings.host} is already in use by another process; "
                f"stop it or choose another port with LOGPIPELINE_*_PORT",
                component.log_file(component.processes()[0].name),
            )


def start(component: Component, report: Report) -> bool:
    """Start a component's missing processes. False if it was already running (nothing started)."""
    pids = _running(component) if component.settings.run.exists() else {}
    if pids and all(pids.values()):
        return False
    # A half-started component is restarted whole.
    for spec_name, pid in pids.items():
        if pid is not None:
            process.stop(component.pid_file(spec_name))
    _check_ports(component)
    component.prepare(lambda msg: report(component.name, msg))
    for spec in component.processes():
        report(component.name, f"starting {spec.name}")
        process.spawn(spec.argv, component.pid_file(spec.name), component.log_file(spec.name), env=spec.env)
    return True


def wait_ready(component: Component, report: Report) -> None:
    deadline = time.monotonic() + component.ready_timeout
    report(component.name, "waiting for readiness")
    while time.monotonic() < deadline:
        for spec in component.processes():
            if process.read_pid(component.pid_file(spec.name)) is None:
                log = component.log_file(spec.name)
                last = process.tail(log, 1).strip()[:200]
                raise StackError(component.name, f"{spec.name} crashed on start: {last or 'no output'}", log)
        if component.healthy():
            return
        time.sleep(0.5)
    log = component.log_file(component.processes()[0].name)
    raise StackError(component.name, f"not ready after {component.ready_timeout:.0f}s", log)


def up(settings: Settings, report: Report, only: Collection[str] | None = None) -> list[Component]:
    """Bring every component (or those named in ``only``) up; on failure, stop what this call started and raise."""
    components = [c for c in all_components(settings) if only is None or c.name in only]
    started: list[Component] = []
    try:
        for component in components:
            if start(component, report):
                started.append(component)
            else:
                report(component.name, "already running")
        for component in components:
            wait_ready(component, report)
            report(component.name, "ready")
    except BaseException:
        for component in started:
            for spec in component.processes():
                process.stop(component.pid_file(spec.name))
        raise
    return components


def down(settings: Settings, report: Report) -> int:
    stopped = 0
    for component in reversed(all_components(settings)):
        for spec in reversed(component.processes()):
            if process.stop(component.pid_file(spec.name)):
                stopped += 1
                report(component.name, f"stopped {spec.name}")
    return stopped


def status(settings: Settings) -> list[ProcessStatus]:
    rows = []
    for component in all_components(settings):
        healthy = component.healthy()
        for spec in component.processes():
            pid = process.read_pid(component.pid_file(spec.name))
            rows.append(
                ProcessStatus(
                    component.name,
                    spec.name,
                    component.address(),
                    pid,
                    healthy and pid is not None,
                    process.rss_bytes(pid) if pid else 0,
                )
            )
    return rows


def is_up(settings: Settings) -> bool:
    rows = status(settings)
    return bool(rows) and all(r.healthy for r in rows)
