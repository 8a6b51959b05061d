"""What the dashboard draws of anomaly detection: an API's expected ranges with its anomalous minutes, the list of
anomalies, the cold-start note, and anomalies as marks on the time series (pure builders)."""

from __future__ import annotations

from typing import Any

import numpy as np

from logpipeline.dashboard import callbacks, components, figures, model
from logpipeline.dashboard.model import AnomalyView
from logpipeline.dashboard.pages import api

T0 = 1_782_864_000_000


def texts(component: Any) -> list[str]:
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, list | tuple):
            for child in node:
                walk(child)
        elif hasattr(node, "children"):
            walk(node.children)

    walk(component)
    return out


def score(minute: int, value: float, status: str = "normal", expected: float = 100.0) -> dict[str, Any]:
    return {"value": value, "expected": expected, "lower": expected * 0.8, "upper": expected * 1.2, "status": status,
            "score": 0.0, "since": None, "history_minutes": 20000, "minute": minute}  # fmt: skip


def anomaly(**over: Any) -> dict[str, Any]:
    base = {"api": "/api/v1/pay", "metric": "error_rate", "since": T0 + 120_000, "last": T0 + 300_000, "open": False,
            "expected": 0.01, "observed": 0.05, "worst_expected": 0.01, "worst_observed": 0.08, "worst_score": 7.0,
            "related": [{"api": "/api/v1/cart", "metric": "p95", "score": 4.2}]}  # fmt: skip
    return {**base, **over}


def test_a_band_shades_the_expected_range_and_marks_the_anomalous_minutes() -> None:
    scores = {T0 + i * 60_000: {"events": score(T0 + i * 60_000, v, s)} for i, (v, s) in
              enumerate([(100, "normal"), (300, "anomaly"), (310, "anomaly"), (101, "normal")])}  # fmt: skip
    figure = figures.anomaly_band(scores, "events")
    lower, upper, expected, observed, marks = figure["data"]
    assert list(expected["y"]) == [100.0] * 4 and expected["line"]["dash"] == "dot"
    assert upper["fill"] == "tonexty" and list(lower["y"]) == [80.0] * 4 and list(upper["y"]) == [120.0] * 4
    assert list(observed["y"]) == [100, 300, 310, 101]
    assert list(marks["y"]) == [300, 310] and [str(x) for x in marks["x"]] == [
        "2026-07-01T00:01:00.000", "2026-07-01T00:02:00.000"]  # fmt: skip


def test_learning_minutes_have_no_band_and_rates_show_in_percent() -> None:
    scores = {
        T0: {"error_rate": score(T0, 0.02, "learning", 0.01)},
        T0 + 60_000: {"error_rate": score(T0, 0.03, "normal", 0.01)},
    }
    figure = figures.anomaly_band(scores, "error_rate")
    _, upper, _, observed, _ = figure["data"]
    assert np.isnan(upper["y"][0]) and upper["y"][1] == 1.2  # 0.012 as a percentage
    assert list(observed["y"]) == [2.0, 3.0]
    assert figure["layout"]["yaxis"]["title"]["text"] == "error rate, %"


def test_the_list_says_what_moved_since_when_and_what_else() -> None:
    table = components.anomalies_list([anomaly(), anomaly(open=True, metric="p95", worst_expected=300.0,
                                                          worst_observed=650.0, related=[])], lambda a: f"/api?name={a}")  # fmt: skip
    cells = texts(table)
    assert cells[7:14] == ["/api/v1/pay", "error_rate", "07-01 00:02", "07-01 00:06", "1%", "8%", "/api/v1/cart p95"]
    assert cells[14:21] == ["/api/v1/pay", "p95", "07-01 00:02", "open", "300 ms", "650 ms", "-"]
    assert texts(components.anomalies_list([], str))[-1] == "no anomaly in this range"


def test_the_cold_start_note_says_how_far_learning_is() -> None:
    status = {"learning": [{"api": "a", "metric": "events", "history_minutes": 4320}], "series": 3,
              "warmup_minutes": 10080}  # fmt: skip
    note = texts(components.learning_note(status, None))[0]
    assert "1 of 3 series" in note and "7 days" in note and "3.0 days" in note
    assert components.learning_note({"learning": []}, None) is None
    assert "not running" in texts(components.learning_note(None, "anomaly detection is not running"))[0]


def test_anomalies_are_marks_and_every_page_output_is_drawn() -> None:
    marks = model.anomaly_marks([anomaly(), anomaly(since=T0 - 1)], T0, T0 + 3_600_000)
    assert marks == [model.Mark(T0 + 120_000, "anomaly", "error_rate anomaly: 0.05 where 0.01 was expected",
                                "/api/v1/pay")]  # fmt: skip
    view = AnomalyView([anomaly()], {"learning": []}, {T0: {"p95": score(T0, 120.0)}})
    snap = model.summarize([], T0, T0 + 3_600_000, T0 + 3_600_000, "1m", 60_000, [], None, model.Sink())
    drawn = callbacks.render_api(snap, "/api/v1/pay", "UTC", marks, view)
    assert len(drawn) == len(callbacks.API_OUTPUTS) - 1  # all but the problems
    assert [len(figure["data"][0]["y"]) for figure in drawn[6 : 6 + len(api.BAND_METRICS)]] == [0, 0, 1]
