"""Every series of a minute: figures from stored windows, anomalies that open, go on and close with what moved,
replay as training, and the model file."""

from __future__ import annotations

import pytest

from logpipeline.anomalies import modelfile, training
from logpipeline.anomalies.scoring import Scorer
from logpipeline.anomalies.series import Figures, by_minute
from logpipeline.contracts import ERROR_RATE_METRIC, EVENTS_METRIC, P95_METRIC
from logpipeline.metrics import synthetic

T0 = 1_793_577_600_000
MIN = 60_000
WARM = 60


def calm(minute: int, api: str) -> Figures:
    return Figures(1000 + (minute * 7 + len(api)) % 23, 5, 100.0 + minute % 3)


def warmed(apis: tuple[str, ...] = ("a", "b", "c"), minutes: int = 3 * 1440) -> Scorer:
    scorer = Scorer(warmup_minutes=WARM)
    figures = {T0 + m * MIN: {api: calm(m, api) for api in apis} for m in range(minutes)}
    training.replay(scorer, T0, T0 + minutes * MIN, figures)
    return scorer


def test_windows_of_any_levels_make_an_apis_minute() -> None:
    windows = [
        synthetic.window_aggregate("a", "INFO", T0, [10.0] * 90, [200] * 90, 1),
        synthetic.window_aggregate("a", "ERROR", T0, [500.0] * 10, [500] * 10, 1),
        synthetic.window_aggregate("b", "INFO", T0 + MIN, [20.0] * 5, [200] * 5, 1),
    ]
    found = by_minute(windows)
    a = found[T0]["a"]
    assert (a.events, a.errors) == (100, 10) and a.p95 == pytest.approx(500.0)
    assert a.value(ERROR_RATE_METRIC) == (0.1, 100.0) and a.value(EVENTS_METRIC) == (100.0, None)
    assert found[T0 + MIN]["b"].value(P95_METRIC) == (20.0, 5.0)
    assert Figures(0, 0, None).value(P95_METRIC) == (None, None)


def test_an_anomaly_opens_names_what_moved_with_it_and_closes() -> None:
    scorer = warmed()
    start = T0 + 3 * 1440 * MIN
    opened, closed = [], []
    for i in range(12):
        minute = start + i * MIN
        step = 3 <= i < 7
        figures = {api: calm(i, api) for api in ("a", "b", "c")}
        if step:  # a's errors step up; b's latency moves with it
            figures["a"] = Figures(1000, 150, 100.0)
            figures["b"] = Figures(1000, 5, 400.0)
        out = scorer.score(minute, figures)
        opened += out.opened
        closed += out.closed
        assert len(out.scores) == 9
    by_series = {(a.api, a.metric): a for a in opened}
    errors = by_series[("a", ERROR_RATE_METRIC)]
    assert errors.since == start + 3 * MIN and errors.expected == pytest.approx(0.005, rel=0.2)
    assert errors.observed == 0.15 and ("b", P95_METRIC) in {(r[0], r[1]) for r in errors.related}
    assert {(a.api, a.metric) for a in closed} == set(by_series) and not any(a.open for a in closed)
    assert scorer.open == {}
    with pytest.raises(ValueError, match="minutes go forward only"):
        scorer.score(start, {})


def test_a_minute_without_data_leaves_an_open_anomaly_open() -> None:
    scorer = warmed(("a",))
    start = T0 + 3 * 1440 * MIN
    for i in range(3):
        scorer.score(start + i * MIN, {"a": Figures(1000, 200, 100.0)})
    assert ("a", ERROR_RATE_METRIC) in scorer.open
    out = scorer.score(start + 3 * MIN, {})  # no window: 0 events, no error rate
    assert ("a", ERROR_RATE_METRIC) in scorer.open and not [c for c in out.closed if c.metric == ERROR_RATE_METRIC]


def test_cold_series_say_they_are_learning() -> None:
    scorer = Scorer(warmup_minutes=WARM)
    scorer.score(T0, {"a": calm(0, "a")})
    assert scorer.learning() == [("a", m, 1) for m in sorted((EVENTS_METRIC, ERROR_RATE_METRIC, P95_METRIC))]
    assert warmed(("a",), 2 * WARM).learning() == []


def test_a_model_file_round_trips_and_refuses_what_it_cannot_read() -> None:
    scorer = warmed(("a", "b"), 300)
    data = modelfile.encode(scorer, 123, T0, T0 + 300 * MIN)
    again, header = modelfile.decode(data, WARM)
    assert header == {"format": 1, "trained_at": 123, "history_from": T0, "history_until": T0 + 300 * MIN}
    assert again.last_minute == T0 + 299 * MIN and set(again.detectors) == set(scorer.detectors)
    assert modelfile.decode_header(data)["trained_at"] == 123 and modelfile.decode_header(b"{") == {}
    minute = T0 + 300 * MIN
    assert again.score(minute, {"a": calm(300, "a")}).scores == scorer.score(minute, {"a": calm(300, "a")}).scores
    with pytest.raises(modelfile.BadModel, match="not JSON"):
        modelfile.decode(b"{")
    with pytest.raises(modelfile.BadModel, match="format 2"):
        modelfile.decode(data.replace(b'"format":1', b'"format":2'))
    with pytest.raises(modelfile.BadModel, match="other settings"):
        modelfile.decode(data.replace(b'"threshold":3.0', b'"threshold":4.0'))
