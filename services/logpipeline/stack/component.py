"""What a component of the local stack is: its processes, ports, prepared files and health check (base class).

A component owns one or more processes (HDFS has a NameNode and a DataNode), the loopback ports they bind, and a
health check that talks to the real server. ``kafka``, ``hdfs`` and ``dynamodb`` hold the three components.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from logpipeline.config import Settings
from logpipeline.stack.errors import StackError

Progress = Callable[[str], None]

JAVA_OPENS = [
    f"--add-opens=java.base/{pkg}=ALL-UNNAMED"
    for pkg in (
        "java.lang",
        "java.lang.reflect",
        "java.util",
        "java.io",
        "java.nio",
        "sun.nio.ch",
        "java.net",
    )
]


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Component:
    """A part of the stack: prepare() once, then start its processes and poll healthy()."""

    name: str
    settings: Settings
    ready_timeout: float = 90.0

    def ports(self) -> dict[str, int]:
        raise NotImplementedError

    def address(self) -> str:
        raise NotImplementedError

    def prepare(self, progress: Progress) -> None:
        """Fetch artifacts and write configuration; safe to repeat."""

    def processes(self) -> list[ProcessSpec]:
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    @property
    def conf_dir(self) -> Path:
        return self.settings.state / "conf" / self.name

    @property
    def data_dir(self) -> Path:
        return self.settings.data / self.name

    def log_file(self, process: str) -> Path:
        return self.settings.logs / f"{process}.log"

    def pid_file(self, process: str) -> Path:
        return self.settings.run / f"{process}.pid"


def find_java(component: str) -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise StackError(component, "Java not found: install a JDK 17+ or set JAVA_HOME")
    return java


def write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def http_json(url: str, timeout: float = 2.0) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        data: dict[str, object] = json.loads(resp.read())
        return data
