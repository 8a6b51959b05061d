"""Exact per-minute aggregates (nearest-rank percentiles) and the ground-truth file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from logpipeline.generator import traffic, truth
from logpipeline.generator.traffic import TrafficSpec

START = 1_714_521_600_000


def _event(ts: int, rt: float, status: int = 200, level: str = "SUCCESS", api: str = "/a") -> dict[str, Any]:
    return {"timestamp": ts, "api": api, "log_level": level, "response_time": rt, "status_code": status}


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert truth.nearest_rank(values, 50) == 50.0
    assert truth.nearest_rank(values, 95) == 95.0
    assert truth.nearest_rank(values, 99) == 99.0
    assert truth.nearest_rank([7.0], 99) == 7.0
    assert truth.nearest_rank([1.0, 2.0, 3.0], 50) == 2.0


def test_minute_aggregates_by_window_api_and_level() -> None:
    events = [
        _event(START + 1, 10.0),
        _event(START + 59_999, 30.0, status=304),
        _event(START + 60_000, 5.0),
        _event(START + 2, 100.0, status=503, level="CRITICAL"),
        _event(START + 3, 1.0, api="/b", status=101),
    ]
    rows = {(r["window_start"], r["api"], r["log_level"]): r for r in truth.minute_aggregates(events)}
    first = rows[(START, "/a", "SUCCESS")]
    assert first["window_end"] == START + 60_000
    assert (first["log_count"], first["avg_response_time"], first["min_response_time"]) == (2, 20.0, 10.0)
    assert (first["max_response_time"], first["p50_response_time"], first["p99_response_time"]) == (30.0, 10.0, 30.0)
    assert (first["status_2xx"], first["status_3xx"], first["status_5xx"]) == (1, 1, 0)
    assert first["id"] == f"/a|SUCCESS|{START}"
    assert rows[(START, "/a", "CRITICAL")]["status_5xx"] == 1
    assert rows[(START + 60_000, "/a", "SUCCESS")]["log_count"] == 1
    assert rows[(START, "/b", "SUCCESS")]["status_2xx"] == 1  # 1xx counts with 2xx
    assert len(rows) == 4


def test_ground_truth_file_round_trips(tmp_path: Path) -> None:
    events = list(traffic.events(TrafficSpec(seed=1, start_ms=START, count=3000)))
    path = tmp_path / "truth.jsonl"
    n_events, n_aggs = truth.write_ground_truth(path, events)
    got_events, got_aggs = truth.read_ground_truth(path)
    assert got_events == events and n_events == 3000
    assert sum(a["log_count"] for a in got_aggs) == 3000 and len(got_aggs) == n_aggs
    path.write_bytes(path.read_bytes()[:-200])
    try:
        truth.read_ground_truth(path)
    except ValueError as exc:
        assert "incomplete" in str(exc)
    else:
        raise AssertionError("a cut file must not read as complete")
