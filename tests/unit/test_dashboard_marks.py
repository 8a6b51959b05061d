"""Marks on the time series: an alert's fired and resolved moments from its history, drawn as dotted lines with
their text shown literally, in the chart's zone; marks that cannot be read are counted, and the page is drawn."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from logpipeline.alerting.lifecycle import AlertState
from logpipeline.dashboard import figures, model, user_data

T0 = 1_782_864_000_000  # 2026-07-01 00:00 UTC


def test_alert_history_inside_the_range_becomes_marks() -> None:
    state = AlertState("checkout", "/api/v1/cart", history=(("fired", "page", T0 - 60_000), ("fired", "page", T0),
                                                             ("resolved", "page", T0 + 600_000)))  # fmt: skip
    marks = model.alert_marks([state], T0, T0 + 3_600_000)
    assert marks == [
        model.Mark(T0, "alert", "fired page: checkout (/api/v1/cart)", "/api/v1/cart"),
        model.Mark(T0 + 600_000, "alert", "resolved page: checkout (/api/v1/cart)", "/api/v1/cart"),
    ]


def test_marks_are_lines_with_literal_hover_text_in_the_charts_zone() -> None:
    base = figures.level_series([T0], {"INFO": [1]}, "Europe/Paris")
    marked = figures.marked(base, [model.Mark(T0, "deploy", "<img src=x onerror=alert(1)>")], "Europe/Paris")
    (line,) = marked["layout"]["shapes"]
    assert str(line["x0"]) == "2026-07-01T02:00:00.000" and line["line"]["dash"] == "dot"
    hover = marked["data"][-1]
    assert hover["text"] == ["deploy: &lt;img src=x onerror=alert(1)&gt;"]
    assert figures.marked(base, []) is base


def test_marks_that_cannot_be_read_leave_the_page_drawn_and_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable() -> tuple[object, str]:
        raise ConnectionError("the accounts table does not answer")

    monkeypatch.setattr(user_data, "_table", unreachable)
    before = REGISTRY.get_sample_value("logpipeline_dashboard_marks_unreadable_total") or 0.0
    assert user_data.marks(T0 + 7_200_000, T0 + 10_800_000) == []
    assert REGISTRY.get_sample_value("logpipeline_dashboard_marks_unreadable_total") == before + 1
