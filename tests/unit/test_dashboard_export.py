"""Each overview panel's CSV: the snapshot's figures at full precision, UTC times, cells a spreadsheet would run as
formulas defused, an unknown panel named."""

from __future__ import annotations

import csv
import io

import pytest

from logpipeline.dashboard import export
from logpipeline.dashboard.model import Snapshot
from logpipeline.metrics import rollup

T0 = 1_767_225_600_000


def snapshot() -> Snapshot:
    latency = [rollup.Latency("=HYPERLINK(1)", 3, 12.5, 1.0, 30.0, 10.0, 29.0, 30.0)]
    errors = [rollup.ApiErrors("/api/v1/orders", 2, 8, 0.25, 40.125)]
    series = {"INFO": [5, 0], "ERROR": [1, 1]}
    return Snapshot(T0, T0 + 120_000, T0 + 120_000, "1m", [], [], {"INFO": 5, "ERROR": 2},
                    rollup.Sla(7, 2, 5 / 7), latency, errors, [T0, T0 + 60_000], series, None, None)  # fmt: skip


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_levels_and_sla_hold_the_exact_figures() -> None:
    levels = rows(export.panel_csv("levels", snapshot()))
    assert levels[0] == ["level", "events"] and ["INFO", "5"] in levels and ["ERROR", "2"] in levels
    assert ["DEBUG", "0"] in levels
    assert rows(export.panel_csv("sla", snapshot()))[1] == ["7", "2", repr(5 / 7)]


def test_series_has_one_row_per_bucket_in_utc() -> None:
    series = rows(export.panel_csv("series", snapshot()))
    assert series[0][0] == "bucket_start_utc"
    assert [r[0] for r in series[1:]] == ["2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"]
    info, error = series[0].index("INFO"), series[0].index("ERROR")
    assert [(r[info], r[error]) for r in series[1:]] == [("5", "1"), ("0", "1")]


def test_a_name_from_the_logs_never_becomes_a_formula() -> None:
    latency = rows(export.panel_csv("latency", snapshot()))
    assert latency[1][0] == "'=HYPERLINK(1)" and latency[1][1:3] == ["3", "12.5"]
    assert rows(export.panel_csv("top-errors", snapshot()))[1] == ["/api/v1/orders", "2", "8", "0.25", "40.125"]


def test_an_unknown_panel_is_named() -> None:
    with pytest.raises(ValueError, match="panel: expected one of kpis, sla, levels, top-errors, latency, series"):
        export.panel_csv("pie", snapshot())
    assert export.filename("levels", snapshot()) == "logpipeline-levels-2026-01-01T000000Z-2026-01-01T000200Z.csv"
