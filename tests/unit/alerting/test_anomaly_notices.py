"""Anomaly notices in the alerting document (receivers, severity, metrics) and what their messages say."""

from __future__ import annotations

from typing import Any

import pytest

from logpipeline.alerting import message, slo

T0 = 1_782_864_000_000


def doc(anomalies: Any) -> dict[str, Any]:
    return {
        "receivers": [{"name": "hook", "webhook": {"url": "https://hooks.example.org/a", "secretFile": "/s/key"}},
                      {"name": "pager", "severities": ["page"], "sms": {"phoneNumbers": ["+15555550100"]}}],
        "anomalies": anomalies,
    }  # fmt: skip


def test_an_anomalies_section_names_receivers_severity_and_metrics() -> None:
    notices = slo.parse(doc({"receivers": ["hook", "pager"]})).anomalies
    assert notices == slo.AnomalyNotices(("hook", "pager"), "ticket", ("events", "error_rate", "p95"))
    chosen = slo.parse(doc({"receivers": ["pager"], "severity": "page", "metrics": ["p95"]})).anomalies
    assert chosen is not None and (chosen.severity, chosen.metrics) == ("page", ("p95",))
    assert slo.parse(doc(None)).anomalies is None


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"receivers": ["nobody"]}, "anomalies.receivers: no receiver named nobody"),
        ({}, "anomalies.receivers: required"),
        ({"receivers": ["hook"], "severity": "urgent"}, "anomalies.severity: expected page or ticket"),
        ({"receivers": ["hook"], "metrics": ["latency"]}, "anomalies.metrics: expected some of events"),
        (["hook"], "anomalies: expected a mapping"),
    ],
)
def test_a_wrong_section_is_named(section: Any, problem: str) -> None:
    with pytest.raises(slo.InvalidDefinition, match=problem):
        slo.parse(doc(section))


def test_an_anomaly_message_says_what_moved_since_when_and_what_else() -> None:
    anomaly = {"api": "/api/v1/pay", "metric": "error_rate", "since": T0, "last": T0 + 600_000, "open": True,
               "expected": 0.009, "observed": 0.07, "worst_expected": 0.009, "worst_observed": 0.08,
               "worst_score": 7.3, "related": [{"api": "/api/v1/cart", "metric": "p95", "score": 4.1}]}  # fmt: skip
    p = message.anomaly_payload(anomaly, "firing", "ticket", T0 + 660_000, "http://dash")
    assert message.subject(p) == "[TICKET] anomaly /api/v1/pay error_rate: 8% where 0.9% was expected"
    text = message.text(p)
    assert "since 2026-07-01 00:00 UTC" in text and "7% where 0.9% was expected" in text
    assert "/api/v1/cart p95 (+4.1)" in text and "http://dash/api?name=%2Fapi%2Fv1%2Fpay" in text
    ended = message.anomaly_payload({**anomaly, "open": False}, "resolved", "ticket", T0 + 900_000, "http://dash")
    assert message.sms(ended).startswith("RESOLVED anomaly /api/v1/pay error_rate")
    assert "until 2026-07-01 00:11 UTC" in message.text(ended)
    assert "<li>" in message.html_body(p)
    regional = message.anomaly_payload({**anomaly, "region": "eu-west-1"}, "firing", "ticket", T0, "http://dash")
    assert message.subject(regional).startswith("[TICKET] anomaly /api/v1/pay in eu-west-1 error_rate")
    assert "region=eu-west-1" in regional["dashboard"] and "region" not in p
