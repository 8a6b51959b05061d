"""``logpipeline anomalies score``: CSV in, one scored row out per row in, and bad input named by its line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from logpipeline.anomalies import csvscore
from logpipeline.anomalies.csvscore import BadInput
from logpipeline.anomalies.detector import Settings
from logpipeline.anomalies.model import DAY_MINUTES, MINUTE_MS, Params
from logpipeline.cli.main import app

T0 = 1_793_577_600_000


def series(minutes: int, spike_at: int | None = None) -> list[str]:
    lines = ["timestamp,value"]
    for i in range(minutes):
        value = 100.0 + (i % 5) + (300.0 if spike_at is not None and spike_at <= i < spike_at + 10 else 0.0)
        lines.append(f"{T0 + i * MINUTE_MS},{value}")
    return lines


def test_every_row_is_scored_without_look_ahead(tmp_path: Path) -> None:
    lines = series(2 * DAY_MINUTES + 60, spike_at=2 * DAY_MINUTES + 20)
    path = tmp_path / "s.csv"
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["anomalies", "score", str(path), "--warmup-days", "1"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(lines) - 1
    assert list(rows[0]) == list(csvscore.HEADER)
    flagged = [i for i, r in enumerate(rows) if r["anomaly"] == "1"]
    assert flagged[0] == 2 * DAY_MINUTES + 21 and flagged[-1] == 2 * DAY_MINUTES + 31
    assert float(rows[flagged[0]]["value"]) > float(rows[flagged[0]]["upper"])
    # the verdict of a row does not depend on the rows after it
    head = list(csvscore.score(lines[: 2 * DAY_MINUTES + 23], Settings(Params(), warmup_minutes=DAY_MINUTES)))
    assert [r[-1] for r in head[1:]] == [r["anomaly"] for r in rows[: 2 * DAY_MINUTES + 22]]


def test_a_ratio_row_without_events_has_empty_fields() -> None:
    lines = ["timestamp,value,n", f"{T0},0.01,100", f"{T0 + MINUTE_MS},0,0"]
    out = list(csvscore.score(lines, Settings(Params(kind="ratio"))))
    assert out[2] == (str(T0 + MINUTE_MS), "0", "", "", "", "", "0")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["timestamp,value", f"{T0},1", f"{T0},2"], "line 3: timestamp .* is not after"),
        (["timestamp,value", f"{T0},x"], "line 2: not numbers"),
        ([f"{T0 // 1000},1"], "looks like seconds"),
        ([f"{T0},1,2,3"], "line 1: expected timestamp,value"),
        ([f"{T0},-5"], r"line 1: value -5.0: a level series needs values above -1\.0"),
    ],
)
def test_bad_input_is_named_by_its_line(lines: list[str], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        list(csvscore.score(lines, Settings()))


def test_the_command_exits_2_on_bad_input_and_a_bad_option(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(f"{T0},1\n{T0},1\n")
    result = CliRunner().invoke(app, ["anomalies", "score", str(path)])
    assert result.exit_code == 2 and "line 2" in result.output
    result = CliRunner().invoke(app, ["anomalies", "score", str(path), "--kind", "gauge"])
    assert result.exit_code == 2 and "kind 'gauge'" in result.output
