"""The traffic model: valid, deterministic, realistic (per-API latency, consistent levels, diurnal, incidents)."""

from __future__ import annotations

import statistics
from collections import Counter

import orjson

from logpipeline.events import codec
from logpipeline.events.codec import Invalid
from logpipeline.generator import traffic
from logpipeline.generator.catalogue import DEFAULT_APIS
from logpipeline.generator.traffic import Incident, TrafficSpec

START = 1_714_521_600_000  # 2024-05-01T00:00:00Z


def test_events_are_valid_unique_and_deterministic() -> None:
    spec = TrafficSpec(seed=7, start_ms=START, count=20_000)
    first = list(traffic.events(spec))
    assert first == list(traffic.events(spec))
    assert len(first) == 20_000
    assert len({e["id"] for e in first}) == 20_000
    assert all(codec.validate(e) == e for e in first)
    assert first != list(traffic.events(TrafficSpec(seed=8, start_ms=START, count=20_000)))


def test_fast_encoding_equals_the_events() -> None:
    spec = TrafficSpec(seed=3, start_ms=START, count=traffic.BLOCK + 100)
    encoded = [v for block in traffic.blocks(spec) for v in block.encode()]
    keys = [k for block in traffic.blocks(spec) for k in block.api_keys()]
    events = list(traffic.events(spec))
    assert [orjson.loads(v) for v in encoded] == events
    assert keys == [e["api"] for e in events]


def test_event_time_follows_the_rate_and_duration() -> None:
    flat = list(traffic.events(TrafficSpec(seed=1, start_ms=START, count=5000, rate=100.0, diurnal=False)))
    assert flat[0]["timestamp"] == START
    assert flat[-1]["timestamp"] == START + 49_990  # 4999 events after the first at 10 ms each
    by_duration = list(traffic.events(TrafficSpec(seed=1, start_ms=START, duration_s=30.0, rate=50.0, diurnal=False)))
    assert len(by_duration) == 1500
    assert all(START <= e["timestamp"] < START + 30_000 for e in by_duration)


def test_diurnal_curve_peaks_in_the_afternoon() -> None:
    day = list(traffic.events(TrafficSpec(seed=1, start_ms=START, duration_s=86_400.0, rate=0.5)))
    per_hour = Counter((e["timestamp"] - START) // 3_600_000 for e in day)
    assert abs(len(day) - 43_200) < 50  # the curve keeps the mean rate
    assert per_hour[14] > 2.5 * per_hour[2]


def test_latency_is_per_api_lognormal_and_levels_match_status() -> None:
    events = list(traffic.events(TrafficSpec(seed=2, start_ms=START, count=60_000)))
    for api in DEFAULT_APIS:
        times = [e["response_time"] for e in events if e["api"] == api.name and e["status_code"] == 200]
        assert 0.85 * api.median_ms < statistics.median(times) < 1.15 * api.median_ms
    for e in events:
        status, level = e["status_code"], e["log_level"]
        if status >= 500:
            assert level in ("ERROR", "CRITICAL")
        elif status >= 400:
            assert level == "WARNING"
        elif status >= 300:
            assert level == "INFO"
        else:
            assert level in ("SUCCESS", "INFO", "DEBUG")


def test_incidents_raise_errors_or_latency_only_where_and_when_asked() -> None:
    api = "/api/v1/payments"
    burst = Incident(api, "errors", START + 60_000, START + 120_000, 40.0)
    spike = Incident("/api/v1/search", "latency", START + 60_000, START + 120_000, 10.0)
    spec = TrafficSpec(seed=5, start_ms=START, duration_s=180.0, rate=500.0, diurnal=False, incidents=(burst, spike))
    events = list(traffic.events(spec))

    def share_5xx(name: str, lo: int, hi: int) -> float:
        sel = [e for e in events if e["api"] == name and lo <= e["timestamp"] - START < hi]
        return sum(e["status_code"] >= 500 for e in sel) / len(sel)

    def median_rt(name: str, lo: int, hi: int) -> float:
        return statistics.median(
            e["response_time"] for e in events if e["api"] == name and lo <= e["timestamp"] - START < hi
        )

    assert share_5xx(api, 60_000, 120_000) > 0.25 > 0.05 > share_5xx(api, 0, 60_000)
    assert share_5xx("/api/v1/orders", 60_000, 120_000) < 0.05
    assert median_rt("/api/v1/search", 60_000, 120_000) > 6 * median_rt("/api/v1/search", 120_000, 180_000)


def test_unsafe_api_names_are_refused() -> None:
    bad = DEFAULT_APIS[0].__class__('/a"b', "GET", "x", 1, 1.0, 0.1, 0.0, 0.0)
    try:
        list(traffic.events(TrafficSpec(apis=(bad,), count=1, start_ms=START)))
    except ValueError as exc:
        assert "printable ASCII" in str(exc)
    else:
        raise AssertionError("expected ValueError")
    assert not isinstance(codec.validate(next(traffic.events(TrafficSpec(count=1)))), Invalid)
