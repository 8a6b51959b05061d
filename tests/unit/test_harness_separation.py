"""The test and CI harness (``tests/support``) stays out of what ships, and its manifest checks stay pure."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("services", "spark-apps", "operator")
# The same I/O clients the import-linter contract keeps out of the runtime's pure modules.
IO_MODULES = {"confluent_kafka", "boto3", "botocore", "kubernetes", "kopf", "requests", "hdfs"}


def imported(path: Path) -> Iterator[str]:
    """Every absolute module name ``path`` imports (``from x import y`` gives ``x``)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def top_level(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("folder", SHIPPED)
def test_nothing_shipped_imports_the_harness(folder: str) -> None:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files
    offenders = [str(p.relative_to(ROOT)) for p in files if "support" in {top_level(m) for m in imported(p)}]
    assert offenders == []


def test_the_manifest_checks_do_no_io() -> None:
    files = sorted((ROOT / "tests/support/k8s").glob("*.py"))
    assert files
    found = {str(p.relative_to(ROOT)): {top_level(m) for m in imported(p)} & IO_MODULES for p in files}
    assert {name: mods for name, mods in found.items() if mods} == {}
