"""The detector: cold start, the guards (direction, busy minutes, size of the change) and the rule together."""

from __future__ import annotations

from dataclasses import replace

import pytest

from logpipeline.anomalies import catalogue
from logpipeline.anomalies.detector import ANOMALY, LEARNING, NO_DATA, NORMAL, Detector, Scored, Settings
from logpipeline.anomalies.model import COUNT, DAY_MINUTES, LEVEL, MINUTE_MS, Params
from logpipeline.contracts import ANOMALY_METRICS, ERROR_RATE_METRIC, EVENTS_METRIC, P95_METRIC

T0 = 1_793_577_600_000
WARM = 2 * DAY_MINUTES


def history(detector: Detector, value: float, n: float | None = None, minutes: int = WARM + 10) -> int:
    for i in range(minutes):
        detector.step(T0 + i * MINUTE_MS, value, n)
    return minutes


def steps(detector: Detector, start: int, values: list[float], n: float | None = None) -> list[Scored]:
    return [detector.step(T0 + (start + i) * MINUTE_MS, v, n) for i, v in enumerate(values)]


def test_no_verdict_before_the_warm_up() -> None:
    detector = Detector(Settings(Params(kind=LEVEL), warmup_minutes=WARM))
    first = steps(detector, 0, [100.0] * 10 + [500.0] * 10)
    assert {s.status for s in first} == {LEARNING}
    assert not any(s.flagged for s in first)


def test_a_spike_opens_an_anomaly_on_its_second_minute_dated_from_its_first() -> None:
    detector = Detector(Settings(Params(kind=LEVEL), warmup_minutes=WARM))
    at = history(detector, 100.0)
    out = steps(detector, at, [100.0, 400.0, 400.0, 400.0, 100.0, 100.0, 100.0, 100.0])
    assert [s.status for s in out] == [NORMAL, NORMAL, ANOMALY, ANOMALY, ANOMALY, ANOMALY, NORMAL, NORMAL]
    assert out[2].since_ms == T0 + (at + 1) * MINUTE_MS


def test_direction_up_ignores_drops() -> None:
    detector = Detector(Settings(Params(kind=LEVEL), direction="up", warmup_minutes=WARM))
    at = history(detector, 100.0)
    out = steps(detector, at, [10.0] * 5)
    assert all(s.score is not None and s.score < -3 for s in out)
    assert not any(s.flagged for s in out)


def test_quiet_minutes_do_not_page() -> None:
    settings = replace(catalogue.settings(ERROR_RATE_METRIC), warmup_minutes=WARM)
    quiet, busy = Detector(settings), Detector(settings)
    at = history(quiet, 0.0, n=10)
    history(busy, 0.005, n=2000)
    assert not any(s.flagged for s in steps(quiet, at, [0.5] * 5, n=10))  # 5 errors out of 10: under MIN_COUNT
    assert all(s.flagged for s in steps(busy, at, [0.05] * 5, n=2000))


def test_a_small_change_is_not_flagged_however_significant() -> None:
    settings = Settings(Params(kind=COUNT), min_change=0.2, warmup_minutes=WARM)
    detector = Detector(settings)
    at = history(detector, 100_000.0)
    out = steps(detector, at, [110_000.0] * 3)
    assert all(s.score is not None and s.score > 10 for s in out)
    assert not any(s.flagged for s in out)


def test_a_ratio_minute_without_events_has_no_data() -> None:
    detector = Detector(catalogue.settings(ERROR_RATE_METRIC))
    assert detector.step(T0, 0.0, 0).status == NO_DATA


def test_every_metric_has_settings_and_an_unknown_one_is_named() -> None:
    assert set(catalogue.SETTINGS) == set(ANOMALY_METRICS)
    assert catalogue.settings(EVENTS_METRIC).direction == "both"
    assert catalogue.settings(P95_METRIC, 60).warmup_minutes == 60
    with pytest.raises(ValueError, match="metric 'rps'"):
        catalogue.settings("rps")
    with pytest.raises(ValueError, match="direction 'sideways'"):
        Settings(direction="sideways")


def test_state_round_trips() -> None:
    settings = Settings(Params(kind=LEVEL), warmup_minutes=10)
    detector = Detector(settings)
    at = history(detector, 100.0, minutes=20)
    steps(detector, at, [400.0, 400.0])
    copy = Detector.restore(settings, detector.state())
    assert copy.step(T0 + (at + 2) * MINUTE_MS, 100.0) == detector.step(T0 + (at + 2) * MINUTE_MS, 100.0)
