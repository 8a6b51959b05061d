"""A private DynamoDB-API server for tests and benchmarks, never the local stack's shared one.

It is the stack's own component (:class:`logpipeline.stack.dynamodb.DynamoDb`: moto's standalone
server, its readiness check) on a free loopback port, with its pid and log files under a folder of
the test's, started and stopped by the stack's lifecycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from logpipeline.config import Ports, Settings
from logpipeline.stack import lifecycle, process
from logpipeline.stack.component import ProcessSpec
from logpipeline.stack.dynamodb import DynamoDb


def _quiet(component: str, message: str) -> None:
    """Progress of the stack's lifecycle: not shown for a test's private server."""


class _Recording(DynamoDb):
    """The same server, told where to keep the requests it records once asked to (moto's recorder)."""

    def __init__(self, settings: Settings, recording: Path) -> None:
        super().__init__(settings)
        self.recording = recording

    def processes(self) -> list[ProcessSpec]:
        return [
            ProcessSpec(spec.name, spec.argv, {**spec.env, "MOTO_RECORDER_FILEPATH": str(self.recording)})
            for spec in super().processes()
        ]


class MotoServer:
    """``start`` (again after ``stop``: the same port, an empty store) and ``stop``; ``endpoint`` for clients.

    ``recording``: where the server writes the requests it receives while recording (``/moto-api/recorder/``), so
    a test reads back what a client sent it (an SMS published through SNS)."""

    def __init__(self, root: Path, port: int | None = None, recording: Path | None = None) -> None:
        settings = Settings(state=root, ports=Ports(dynamodb=port or process.free_port()), dynamodb=None)
        self.component = DynamoDb(settings) if recording is None else _Recording(settings, recording)
        self.component.ready_timeout = 60.0

    @property
    def port(self) -> int:
        return self.component.settings.ports.dynamodb

    @property
    def endpoint(self) -> str:
        return self.component.address()

    @property
    def log(self) -> Path:
        return self.component.log_file("dynamodb")

    def start(self) -> None:
        lifecycle.start(self.component, _quiet)
        try:
            lifecycle.wait_ready(self.component, _quiet)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process.stop(self.component.pid_file("dynamodb"))


@contextmanager
def moto_server(root: Path) -> Iterator[MotoServer]:
    """A running private server for the ``with`` block; stopped however the block ends."""
    server = MotoServer(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
