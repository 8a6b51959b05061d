"""The project's static checks run with the test suite: ruff, mypy (strict) and the import-linter contracts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff() -> None:
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = _run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_keep_io_out_of_pure_modules() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("host", ["repo1.maven", "repo.maven.apache", "pypi.org", "proxy.golang", "registry.npmjs"])
def test_no_registry_host_is_written_into_the_repo(host: str) -> None:
    result = subprocess.run(
        ["git", "grep", "-l", host, "--", ":!tests/unit/test_quality.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.stdout == "", f"{host} named in {result.stdout}"
