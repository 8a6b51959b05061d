"""Lifecycle edges, what a notice says, and the webhook signature."""

from __future__ import annotations

import hashlib
import hmac

from logpipeline.alerting import lifecycle, message, receivers, slo
from logpipeline.alerting.burnrate import RULES, Assessment
from logpipeline.alerting.lifecycle import AlertState

MIN = 60_000
REPEAT = 4 * 3_600_000


def test_pending_for_then_firing_and_a_pending_that_clears_notifies_nothing() -> None:
    st, kind = lifecycle.step(AlertState("s", "a"), "page", 0, MIN, REPEAT)
    assert (st.status, kind) == (lifecycle.PENDING, None)
    cleared, kind = lifecycle.step(st, None, MIN, MIN, REPEAT)
    assert (cleared.status, kind) == (lifecycle.INACTIVE, None)
    st, kind = lifecycle.step(st, "page", MIN, MIN, REPEAT)
    assert (st.status, kind, st.fired_at) == (lifecycle.FIRING, lifecycle.FIRED, MIN)


def test_escalation_repeat_and_resolve() -> None:
    st, _ = lifecycle.step(AlertState("s", "a"), "ticket", 0, 0, REPEAT)
    st = lifecycle.notified(st, lifecycle.FIRED, "ticket", 0)
    st, kind = lifecycle.step(st, "page", MIN, 0, REPEAT)
    assert kind == lifecycle.ESCALATED
    st = lifecycle.notified(st, kind, "page", MIN)
    st, kind = lifecycle.step(st, "ticket", 2 * MIN, 0, REPEAT)
    assert kind is None and st.severity == "ticket"  # a downgrade is not notified
    st, kind = lifecycle.step(st, "ticket", MIN + REPEAT, 0, REPEAT)
    assert kind == lifecycle.REPEAT
    st, kind = lifecycle.step(st, None, MIN + REPEAT + MIN, 0, REPEAT)
    assert (st.status, kind) == (lifecycle.INACTIVE, lifecycle.RESOLVED)
    assert [h[0] for h in st.history] == ["firing", "escalated", "resolved"]


def test_an_alert_never_notified_resolves_quietly() -> None:
    st, _ = lifecycle.step(AlertState("s", "a"), "page", 0, 0, REPEAT)  # silenced: not marked notified
    st, kind = lifecycle.step(st, None, MIN, 0, REPEAT)
    assert kind is None


def test_silences_match_labels_and_time() -> None:
    st = AlertState("checkout", "/pay")
    s = lifecycle.Silence("x", 0, 10 * MIN, slo="checkout", severity="page")
    assert s.matches(st, "page", MIN) and not s.matches(st, "ticket", MIN) and not s.matches(st, "page", 10 * MIN)


def test_the_notice_states_what_an_operator_needs() -> None:
    objective = slo.Objective("checkout", slo.AVAILABILITY, 0.999, 30 * 86_400_000, ("m",), "/pay")
    judged = Assessment("page", RULES[0], {5: 200.0, 60: 16.7}, {5: 5000, 60: 60000}, 0.02, 3_600_000.0)
    st = AlertState("checkout", "/pay", lifecycle.FIRING, "page", fired_at=1_780_000_000_000)
    p = message.payload("firing", st, objective, judged, 1_780_000_060_000, "https://dash.example.org")
    assert p["burnRates"] == {"5m": 200.0, "1h": 16.7} and p["rule"] == {"long": "1h", "short": "5m", "burnRate": 14.4}
    assert p["budgetConsumed"] == 0.02 and p["exhaustionSeconds"] == 3600
    assert p["dashboard"].startswith("https://dash.example.org/api?name=%2Fpay&range=custom&start=")
    text = message.text(p)
    for needed in ("SLO checkout", "/pay", "error budget consumed: 2.0%", "time to exhaustion", "1h 16.7"):
        assert needed in text, needed
    assert message.subject(p).startswith("[PAGE] SLO checkout (/pay): availability 99.900% over 30d")
    assert len(message.sms(p)) <= message.SMS_MAX and message.sms(p).startswith("PAGE SLO checkout api=/pay: burn 200")
    assert "<a href=" in message.html_body(p)


def test_a_silence_may_name_one_region() -> None:
    eu, us = AlertState("checkout", "/pay", region="eu-west-1"), AlertState("checkout", "/pay", region="us-east-1")
    one = lifecycle.Silence("x", 0, 10 * MIN, slo="checkout", region="eu-west-1")
    every = lifecycle.Silence("y", 0, 10 * MIN, slo="checkout")
    assert one.matches(eu, "page", MIN) and not one.matches(us, "page", MIN)
    assert every.matches(eu, "page", MIN) and every.matches(us, "page", MIN)


def test_a_regional_alert_says_its_region_and_has_keys_of_its_own() -> None:
    objective = slo.Objective("checkout", slo.AVAILABILITY, 0.999, 30 * 86_400_000, ("m",), "/pay")
    judged = Assessment("page", RULES[0], {5: 200.0, 60: 16.7}, {5: 5000, 60: 60000}, 0.02, 3_600_000.0)
    fired = 1_780_000_000_000
    eu = AlertState("checkout", "/pay", lifecycle.FIRING, "page", fired_at=fired, region="eu-west-1")
    p = message.payload("firing", eu, objective, judged, fired + MIN, "https://dash.example.org")
    assert p["region"] == "eu-west-1"
    assert message.subject(p).startswith("[PAGE] SLO checkout (/pay) in eu-west-1: availability")
    assert message.sms(p).startswith("PAGE SLO checkout api=/pay region=eu-west-1: burn 200")
    assert "region=eu-west-1" in p["dashboard"]  # the link opens the region's own figures
    us = AlertState("checkout", "/pay", lifecycle.FIRING, "page", fired_at=fired, region="us-east-1")
    keys = {lifecycle.idempotency_key(st, lifecycle.FIRED, fired) for st in (eu, us, AlertState("checkout", "/pay"))}
    assert len(keys) == 3  # the same alert firing in two regions at once: two notices, neither dropped as a repeat
    single = message.payload("firing", AlertState("checkout", "/pay", fired_at=fired), objective, judged, fired, "")
    assert "region" not in single and "region" not in single["dashboard"]


def test_webhook_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = b'{"slo":"x"}'
    want = hmac.new(b"key", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert receivers.sign("key", "1700000000", body) == f"sha256={want}"
