"""``logpipeline stack`` as a user runs it: lifecycle on private ports, and one-line errors."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from logpipeline import config
from logpipeline.stack import process

BASE = 29000


def _env(state: Path, base: int = BASE, **extra: str) -> dict[str, str]:
    names = list(config.Ports.__dataclass_fields__)
    env = {**os.environ, "LOGPIPELINE_STATE": str(state), **extra}
    env.update({f"LOGPIPELINE_{n.upper()}_PORT": str(base + i) for i, n in enumerate(names)})
    return env


def _cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("logpipeline")
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture()
def private_state(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "state"
    yield state
    _cli("stack", "down", env=_env(state))


def test_up_status_idempotent_up_down(private_state: Path) -> None:
    env = _env(private_state)
    first = _cli("stack", "up", env=env)
    assert first.returncode == 0, first.stderr
    status = _cli("stack", "status", env=env)
    assert status.returncode == 0, status.stdout
    assert status.stdout.count("healthy") == 4  # kafka, namenode, datanode, dynamodb
    pids = [int(p.read_text()) for p in (private_state / "run").glob("*.pid")]
    assert len(pids) == 4
    again = _cli("stack", "up", env=env)
    assert again.returncode == 0 and again.stderr.count("already running") == 3
    assert sorted(int(p.read_text()) for p in (private_state / "run").glob("*.pid")) == sorted(pids)
    down = _cli("stack", "down", env=env)
    assert down.returncode == 0 and "stopped 4 process(es)" in down.stderr
    assert not [pid for pid in pids if process.is_alive(pid)]
    after = _cli("stack", "status", env=env)
    assert after.returncode == 1 and "stopped" in after.stdout


def test_taken_port_names_component_and_cause(private_state: Path) -> None:
    env = _env(private_state, base=BASE + 100)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", BASE + 100))  # the broker port
        sock.listen()
        result = _cli("stack", "up", env=env, timeout=120)
    assert result.returncode == 1
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1, result.stderr
    assert "kafka" in error[0] and f"port {BASE + 100}" in error[0] and "already in use" in error[0]
    assert "log:" in error[0]


def test_missing_java_names_component_and_cause(private_state: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mvn",):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    env = _env(private_state, base=BASE + 200, PATH=str(bin_dir))
    env.pop("JAVA_HOME", None)
    result = _cli("stack", "up", env=env, timeout=60)
    assert result.returncode == 1
    assert "error: kafka: Java not found" in result.stderr.replace("\n", " ")
