"""What a notification says (pure): one payload per notice, rendered as an email (text and HTML), an SMS and the
webhook's JSON body.

Every SLO message states the SLO, the API, the severity, the burn rates, the error budget consumed, the time to
exhaustion and a link to the dashboard view of the alert's long window. An anomaly's (``type: anomaly``) states
the API, the metric, expected against observed, since when, the related series and a link to the API's view.
"""

from __future__ import annotations

import html
import time
from typing import Any
from urllib.parse import urlencode

from logpipeline.alerting.burnrate import Assessment, window_label
from logpipeline.alerting.lifecycle import RESOLVED, AlertState
from logpipeline.alerting.slo import ALL_APIS, Objective

SMS_MAX = 320  # two SMS segments


def where(region: str | None) -> str:
    """`` in <region>`` after what a regional pipeline's alert or anomaly is about (nothing without a region)."""
    return f" in {region}" if region else ""


def _duration(ms: float | None) -> str:
    if ms is None:
        return "not burning"
    if ms <= 0:
        return "exhausted"
    minutes = ms / 60_000
    if minutes < 120:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 72 else f"{hours / 24:.1f} days"


def _utc(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(ms // 1000))


def dashboard_link(base: str, api: str, start_ms: int, end_ms: int, region: str = "") -> str:
    """The dashboard's view of ``[start_ms, end_ms)`` (a custom range, whole minutes): the API's drill-down page, or
    the overview for all APIs; a regional alert's link shows its region."""
    end_ms = -(-end_ms // 60_000) * 60_000
    query = {"range": "custom", "start": _utc(start_ms), "end": _utc(end_ms), **({"region": region} if region else {})}
    if api != ALL_APIS:
        return f"{base}/api?{urlencode({'name': api, **query})}"
    return f"{base}/?{urlencode(query)}"


def payload(
    kind: str, state: AlertState, objective: Objective, assessment: Assessment, now_ms: int, dashboard: str
) -> dict[str, Any]:
    """The notice's content, fixed when it is made (a re-delivery sends the same)."""
    rule = assessment.rule
    long_minutes = rule.long_minutes if rule else 60
    start = now_ms - long_minutes * 60_000
    return {
        "status": "resolved" if kind == RESOLVED else "firing",
        "kind": kind,
        "slo": objective.name,
        "api": state.api,
        **({"region": state.region} if state.region else {}),
        "objective": objective.objective,
        "target": objective.target,
        "window": window_label(objective.window_ms // 60_000),
        "severity": state.severity or (state.history[-1][1] if state.history else ""),
        "rule": (
            {
                "long": window_label(rule.long_minutes),
                "short": window_label(rule.short_minutes),
                "burnRate": rule.burn_rate,
            }
            if rule
            else None
        ),
        "burnRates": {window_label(m): round(b, 3) for m, b in sorted(assessment.burn.items())},
        "budgetConsumed": round(assessment.budget_consumed, 4),
        "budgetRemaining": round(assessment.budget_remaining, 4),
        "exhaustionSeconds": None if assessment.exhaustion_ms is None else round(assessment.exhaustion_ms / 1000),
        "firedAt": state.fired_at,
        "at": now_ms,
        "dashboard": dashboard_link(dashboard, state.api, start, now_ms, state.region),
    }


def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ms / 1000))


UNITS = {"error_rate": (100.0, "%"), "p95": (1.0, " ms"), "events": (1.0, " events/min")}


def anomaly_payload(doc: dict[str, Any], kind: str, severity: str, now_ms: int, dashboard: str) -> dict[str, Any]:
    """An anomaly's ``firing`` or ``resolved`` notice (``doc``: the anomaly as the scorer stores it)."""
    end = doc["last"] + 60_000
    return {
        "type": "anomaly",
        "status": kind,
        "kind": kind,
        "severity": severity,
        "api": doc["api"],
        **({"region": doc["region"]} if doc.get("region") else {}),
        "metric": doc["metric"],
        "since": doc["since"],
        "last": doc["last"],
        "expected": doc["expected"],
        "observed": doc["observed"],
        "worstExpected": doc["worst_expected"],
        "worstObserved": doc["worst_observed"],
        "score": doc["worst_score"],
        "related": doc["related"],
        "at": now_ms,
        "dashboard": dashboard_link(
            dashboard, doc["api"], doc["since"] - 30 * 60_000, end + 10 * 60_000, doc.get("region") or ""
        ),
    }


def _value(metric: str, v: float | None) -> str:
    scale, unit = UNITS.get(metric, (1.0, ""))
    return "-" if v is None else f"{v * scale:.3g}{unit}"


def _anomaly_subject(p: dict[str, Any]) -> str:
    head = "RESOLVED" if p["status"] == "resolved" else f"[{str(p['severity']).upper()}]"
    return f"{head} anomaly {p['api']}{where(p.get('region'))} {p['metric']}: {_value(p['metric'], p['worstObserved'])} where {_value(p['metric'], p['worstExpected'])} was expected"


def _anomaly_lines(p: dict[str, Any]) -> list[str]:
    related = ", ".join(f"{r['api']} {r['metric']} ({r['score']:+.1f})" for r in p["related"]) or "none"
    span = f"since {_when(p['since'])}" + ("" if p["status"] != "resolved" else f", until {_when(p['last'] + 60_000)}")
    return [
        _anomaly_subject(p),
        f"status: {p['status']}, {span}",
        f"when it began: {_value(p['metric'], p['observed'])} where {_value(p['metric'], p['expected'])} was expected",
        f"at its worst: {_value(p['metric'], p['worstObserved'])} ({p['score']:+.1f} scales from the expected)",
        f"moved at the same time: {related}",
        f"dashboard: {p['dashboard']}",
    ]


def subject(p: dict[str, Any]) -> str:
    if p.get("type") == "anomaly":
        return _anomaly_subject(p)
    api = "all APIs" if p["api"] == ALL_APIS else p["api"]
    head = "RESOLVED" if p["status"] == "resolved" else f"[{str(p['severity']).upper()}]"
    return (
        f"{head} SLO {p['slo']} ({api}){where(p.get('region'))}: {p['objective']} {p['target']:.3%} over {p['window']}"
    )


def lines(p: dict[str, Any]) -> list[str]:
    if p.get("type") == "anomaly":
        return _anomaly_lines(p)
    rule = p["rule"]
    fired = f"firing since {_when(p['firedAt'])}" if p.get("firedAt") else ""
    out = [
        subject(p),
        f"status: {p['status']} ({p['kind']}) at {_when(p['at'])}" + (f", {fired}" if fired else ""),
        f"error budget consumed: {p['budgetConsumed']:.1%} (remaining {p['budgetRemaining']:.1%})",
        f"time to exhaustion at the 1h burn rate: {_duration(None if p['exhaustionSeconds'] is None else p['exhaustionSeconds'] * 1000)}",
        "burn rates: " + ", ".join(f"{w} {b:g}" for w, b in p["burnRates"].items()),
    ]
    if rule:
        out.append(f"rule: burn rate over {rule['burnRate']:g} on both {rule['long']} and {rule['short']}")
    out.append(f"dashboard: {p['dashboard']}")
    return out


def text(p: dict[str, Any]) -> str:
    return "\n".join(lines(p)) + "\n"


def html_body(p: dict[str, Any]) -> str:
    rows = "".join(f"<li>{html.escape(line)}</li>" for line in lines(p)[1:-1])
    link = html.escape(p["dashboard"], quote=True)
    return (
        f"<html><body><h2>{html.escape(subject(p))}</h2><ul>{rows}</ul>"
        f'<p><a href="{link}">Open the dashboard for this window</a></p></body></html>'
    )


def sms(p: dict[str, Any]) -> str:
    if p.get("type") == "anomaly":
        return f"{_anomaly_subject(p)}. {p['dashboard']}"[:SMS_MAX]
    api = "all" if p["api"] == ALL_APIS else p["api"]
    head = "RESOLVED" if p["status"] == "resolved" else str(p["severity"]).upper()
    exhaustion = _duration(None if p["exhaustionSeconds"] is None else p["exhaustionSeconds"] * 1000)
    burn = max(p["burnRates"].values(), default=0.0) if p["rule"] is None else p["burnRates"][p["rule"]["short"]]
    body = (
        f"{head} SLO {p['slo']} api={api}{' region=' + p['region'] if p.get('region') else ''}: burn {burn:g}, budget used {p['budgetConsumed']:.0%}, "
        f"exhausted in {exhaustion}. {p['dashboard']}"
    )
    return body[:SMS_MAX]
