"""The alerting document: what it accepts, and the errors that name the field for what it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from logpipeline.alerting import slo


def doc(**slo_fields: Any) -> dict[str, Any]:
    return {
        "slos": [{"name": "api-availability", "objective": "availability", "target": 0.999, "receivers": ["hook"],
                  **slo_fields}],
        "receivers": [{"name": "hook", "webhook": {"url": "https://hooks.example.org/slo", "secretFile": "/s/key"}}],
    }  # fmt: skip


def test_defaults_and_fan_out() -> None:
    d = slo.parse(doc(per="api"))
    o = d.objectives[0]
    assert (o.window_ms, o.errors_from, o.min_events, o.per_api) == (30 * 86_400_000, "levels", 50, True)
    assert d.repeat_interval_ms == 4 * 3_600_000 and d.receivers_by_name["hook"].severities == ("page", "ticket")
    assert slo.series_apis(o, ["b", "a", "b"]) == ["a", "b"]
    assert slo.series_apis(slo.parse(doc()).objectives[0], ["a"]) == [slo.ALL_APIS]
    assert slo.series_apis(slo.parse(doc(api="a")).objectives[0], ["b"]) == ["a"]
    latency = slo.parse(doc(objective="latency", thresholdMs=300, target=0.99)).objectives[0]
    assert latency.threshold_ms == 300 and abs(latency.budget - 0.01) < 1e-12


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target": 1.5}, "slos[0].target: expected a share between 0 and 1"),
        ({"target": True}, "slos[0].target: expected a number"),
        ({"objective": "speed"}, "slos[0].objective: expected one of availability, latency"),
        ({"objective": "latency"}, "slos[0].thresholdMs: required"),
        ({"thresholdMs": 200}, "slos[0].thresholdMs: only a latency objective"),
        ({"window": "30 days"}, "slos[0].window: expected a duration such as 30d"),
        ({"api": "a", "per": "api"}, "slos[0]: give api (one API) or per: api (each API), not both"),
        ({"receivers": ["pager"]}, "slos[0].receivers: no receiver named pager"),
        ({"name": "Bad_Name"}, "slos[0].name: expected lower-case letters"),
        ({"errorsFrom": "logs"}, "slos[0].errorsFrom: expected one of levels, status"),
    ],
)
def test_refusals_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(
        slo.InvalidDefinition, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        slo.parse(doc(**change))


@pytest.mark.parametrize(
    ("receiver", "message"),
    [
        ({"name": "m", "email": {"to": ["a@b"], "from": "c@d", "smarthost": "mail:587", "password": "hunter2"}},
         r"receivers\[0\].email.password: credentials are never written into the definition; give passwordFile"),
        ({"name": "w", "webhook": {"url": "https://x", "secret": "k"}}, r"receivers\[0\].webhook.secret: credentials"),
        ({"name": "s", "sms": {"phoneNumbers": ["5550100"]}}, r"receivers\[0\].sms.phoneNumbers: expected E.164"),
        ({"name": "m", "email": {"to": ["a@b"], "from": "c@d", "smarthost": "mail"}}, r"smarthost: expected host:port"),
        ({"name": "x"}, r"receivers\[0\]: expected exactly one of email, sms, webhook"),
        ({"name": "w", "severities": ["urgent"], "webhook": {"url": "https://x"}}, r"severities: expected page or ticket"),
        ({"name": "w", "webhook": {"url": "ftp://x"}}, r"webhook.url: expected an http\(s\) URL"),
    ],
)  # fmt: skip
def test_receivers_refused(receiver: dict[str, Any], message: str) -> None:
    with pytest.raises(slo.InvalidDefinition, match=message):
        slo.parse({"slos": [], "receivers": [receiver]})


def test_names_are_unique() -> None:
    twice = doc()
    twice["slos"] = twice["slos"] * 2
    with pytest.raises(slo.InvalidDefinition, match="slos: names must be unique, repeated: api-availability"):
        slo.parse(twice)
