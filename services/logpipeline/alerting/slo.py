"""SLO and receiver definitions (pure): one document, read from a file locally and from ``spec.alerting`` on
Kubernetes, parsed into frozen values with errors that name the field and the problem.

Shape (YAML or JSON; the LogPipeline CRD's ``spec.alerting`` has the same fields)::

    dashboardUrl: http://127.0.0.1:8050      # links in messages point here
    repeatInterval: 4h                       # a firing alert is notified again after this
    slos:
      - name: checkout-availability
        objective: availability              # availability | latency
        errorsFrom: levels                   # availability: levels (ERROR, CRITICAL) | status (5xx)
        thresholdMs: 300                     # latency: a good request took at most this
        target: 0.999
        window: 30d
        api: checkout                        # one API; or per: api (one alert per API seen); or neither (all APIs)
        minEvents: 50                        # no alert from a window holding fewer events
        receivers: [oncall-mail, oncall-sms, hook]
    receivers:
      - name: oncall-mail
        severities: [page, ticket]           # default: both
        email: {to: [sre@example.org], from: alerts@example.org, smarthost: "mail:587", startTLS: true,
                usernameFile: /secrets/smtp/user, passwordFile: /secrets/smtp/password}
      - name: oncall-sms
        severities: [page]
        sms: {phoneNumbers: ["+15555550100"], region: us-east-1}
      - name: hook
        webhook: {url: "https://hooks.example.org/slo", secretFile: /secrets/hook/key, timeoutSeconds: 5,
                  maxAttempts: 4}
    anomalies:                               # the anomaly scorer notifies here when an anomaly opens and ends
      severity: ticket                       # page | ticket: receivers get it when they take that severity
      metrics: [events, error_rate, p95]     # default: all three
      receivers: [oncall-mail, hook]

Credentials are only ever file paths (a mounted Secret on Kubernetes): a password or secret written into the
document is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from logpipeline.contracts import ANOMALY_METRICS

AVAILABILITY, LATENCY = "availability", "latency"
OBJECTIVES = (AVAILABILITY, LATENCY)
LEVELS, STATUS = "levels", "status"
ERRORS_FROM = (LEVELS, STATUS)
PAGE, TICKET = "page", "ticket"
SEVERITIES = (PAGE, TICKET)
ALL_APIS = "*"
NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
PLAIN_SECRETS = ("password", "secret", "token", "username")


class InvalidDefinition(ValueError):
    """The alerting document cannot work; the message names the field (``slos[0].target``) and the problem."""


@dataclass(frozen=True)
class Objective:
    name: str
    objective: str
    target: float
    window_ms: int
    receivers: tuple[str, ...]
    api: str | None = None  # one API; None: all APIs together, or each API when ``per_api``
    per_api: bool = False
    errors_from: str = LEVELS
    threshold_ms: float | None = None
    min_events: int = 50

    @property
    def budget(self) -> float:
        """The share of events allowed to be bad over the window."""
        return 1.0 - self.target


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    sender: str
    smarthost: str
    starttls: bool = True
    tls: bool = False  # implicit TLS (port 465)
    username_file: str | None = None
    password_file: str | None = None
    ca_file: str | None = None  # trust this CA for the server's certificate (besides the system's)


@dataclass(frozen=True)
class Sms:
    phone_numbers: tuple[str, ...]
    region: str = "us-east-1"


@dataclass(frozen=True)
class Webhook:
    url: str
    secret_file: str | None = None
    ca_file: str | None = None
    timeout_s: float = 5.0
    max_attempts: int = 4


@dataclass(frozen=True)
class Receiver:
    name: str
    kind: Email | Sms | Webhook
    severities: tuple[str, ...] = SEVERITIES


@dataclass(frozen=True)
class AnomalyNotices:
    """Who hears of anomalies, at which severity, for which metrics."""

    receivers: tuple[str, ...]
    severity: str = TICKET
    metrics: tuple[str, ...] = ANOMALY_METRICS


@dataclass(frozen=True)
class Definition:
    objectives: tuple[Objective, ...]
    receivers: tuple[Receiver, ...]
    repeat_interval_ms: int = 4 * 3_600_000
    dashboard_url: str = "http://127.0.0.1:8050"
    anomalies: AnomalyNotices | None = None
    receivers_by_name: dict[str, Receiver] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.receivers_by_name.update({r.name: r for r in self.receivers})


def duration_ms(value: Any, where: str) -> int:
    """``30d``, ``4h``, ``5m``, ``90s`` in milliseconds."""
    match = DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if match is None or int(match.group(1)) <= 0:
        raise InvalidDefinition(f"{where}: expected a duration such as 30d, 4h, 5m or 90s, got {value!r}")
    return int(match.group(1)) * UNIT_MS[match.group(2)]


def _get(doc: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    value = doc.get(key, default)
    if value is None and default is None:
        raise InvalidDefinition(f"{where}.{key}: required")
    if isinstance(kind, tuple) and float in kind and isinstance(value, bool):
        raise InvalidDefinition(f"{where}.{key}: expected a number, got {value!r}")
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise InvalidDefinition(f"{where}.{key}: expected {names}, got {value!r}")
    return value


def _strings(doc: Mapping[str, Any], key: str, where: str, default: Sequence[str] | None = None) -> tuple[str, ...]:
    value = doc.get(key, default)
    if value is None:
        raise InvalidDefinition(f"{where}.{key}: required")
    if not isinstance(value, list | tuple) or not value or not all(isinstance(v, str) and v for v in value):
        raise InvalidDefinition(f"{where}.{key}: expected a non-empty list of strings, got {value!r}")
    return tuple(value)


def _no_plain_secrets(doc: Mapping[str, Any], where: str) -> None:
    for key in doc:
        if key.lower() in PLAIN_SECRETS:
            raise InvalidDefinition(
                f"{where}.{key}: credentials are never written into the definition; "
                f"give {key}File, a path to a file (a mounted Secret on Kubernetes)"
            )


def _objective(doc: Any, where: str) -> Objective:
    if not isinstance(doc, Mapping):
        raise InvalidDefinition(f"{where}: expected a mapping, got {doc!r}")
    name = _get(doc, "name", where, str)
    if not NAME.match(name):
        raise InvalidDefinition(f"{where}.name: expected lower-case letters, digits and '-' (DNS label), got {name!r}")
    objective = _get(doc, "objective", where, str)
    if objective not in OBJECTIVES:
        raise InvalidDefinition(f"{where}.objective: expected one of {', '.join(OBJECTIVES)}, got {objective!r}")
    target = float(_get(doc, "target", where, (int, float)))
    if not 0.0 < target < 1.0:
        raise InvalidDefinition(
            f"{where}.target: expected a share between 0 and 1 exclusive (e.g. 0.999), got {target}"
        )
    errors_from = _get(doc, "errorsFrom", where, str, LEVELS)
    if errors_from not in ERRORS_FROM:
        raise InvalidDefinition(f"{where}.errorsFrom: expected one of {', '.join(ERRORS_FROM)}, got {errors_from!r}")
    threshold = doc.get("thresholdMs")
    if objective == LATENCY:
        threshold = float(_get(doc, "thresholdMs", where, (int, float)))
        if threshold <= 0:
            raise InvalidDefinition(f"{where}.thresholdMs: expected a positive number of milliseconds, got {threshold}")
    elif threshold is not None:
        raise InvalidDefinition(f"{where}.thresholdMs: only a latency objective has a threshold")
    api, per = doc.get("api"), doc.get("per")
    if api is not None and (not isinstance(api, str) or not api):
        raise InvalidDefinition(f"{where}.api: expected an API name, got {api!r}")
    if per not in (None, "api"):
        raise InvalidDefinition(f"{where}.per: expected api (one alert per API), got {per!r}")
    if api is not None and per is not None:
        raise InvalidDefinition(f"{where}: give api (one API) or per: api (each API), not both")
    min_events = _get(doc, "minEvents", where, int, 50)
    if min_events < 0:
        raise InvalidDefinition(f"{where}.minEvents: expected 0 or more, got {min_events}")
    return Objective(
        name=name,
        objective=objective,
        target=target,
        window_ms=duration_ms(doc.get("window", "30d"), f"{where}.window"),
        receivers=_strings(doc, "receivers", where),
        api=api,
        per_api=per == "api",
        errors_from=errors_from,
        threshold_ms=threshold,
        min_events=min_events,
    )


def _receiver(doc: Any, where: str) -> Receiver:
    if not isinstance(doc, Mapping):
        raise InvalidDefinition(f"{where}: expected a mapping, got {doc!r}")
    name = _get(doc, "name", where, str)
    severities = _strings(doc, "severities", where, SEVERITIES)
    for severity in severities:
        if severity not in SEVERITIES:
            raise InvalidDefinition(f"{where}.severities: expected {' or '.join(SEVERITIES)}, got {severity!r}")
    kinds = [k for k in ("email", "sms", "webhook") if k in doc]
    if len(kinds) != 1:
        raise InvalidDefinition(f"{where}: expected exactly one of email, sms, webhook, got {kinds or 'none'}")
    body = doc[kinds[0]]
    at = f"{where}.{kinds[0]}"
    if not isinstance(body, Mapping):
        raise InvalidDefinition(f"{at}: expected a mapping, got {body!r}")
    _no_plain_secrets(body, at)
    kind: Email | Sms | Webhook
    if kinds[0] == "email":
        smarthost = _get(body, "smarthost", at, str)
        if not re.match(r"^[^:\s]+:\d+$", smarthost):
            raise InvalidDefinition(f"{at}.smarthost: expected host:port, got {smarthost!r}")
        kind = Email(
            to=_strings(body, "to", at),
            sender=_get(body, "from", at, str),
            smarthost=smarthost,
            starttls=_get(body, "startTLS", at, bool, True),
            tls=_get(body, "tls", at, bool, False),
            username_file=body.get("usernameFile"),
            password_file=body.get("passwordFile"),
            ca_file=body.get("caFile"),
        )
        if kind.starttls and kind.tls:
            raise InvalidDefinition(f"{at}: startTLS and tls (implicit TLS) exclude each other")
    elif kinds[0] == "sms":
        numbers = _strings(body, "phoneNumbers", at)
        for number in numbers:
            if not re.match(r"^\+[1-9]\d{6,14}$", number):
                raise InvalidDefinition(
                    f"{at}.phoneNumbers: expected E.164 numbers such as +15555550100, got {number!r}"
                )
        kind = Sms(phone_numbers=numbers, region=_get(body, "region", at, str, "us-east-1"))
    else:
        url = _get(body, "url", at, str)
        if not re.match(r"^https?://", url):
            raise InvalidDefinition(f"{at}.url: expected an http(s) URL, got {url!r}")
        attempts = _get(body, "maxAttempts", at, int, 4)
        if not 1 <= attempts <= 10:
            raise InvalidDefinition(f"{at}.maxAttempts: expected 1 to 10, got {attempts}")
        timeout = float(_get(body, "timeoutSeconds", at, (int, float), 5))
        if timeout <= 0:
            raise InvalidDefinition(f"{at}.timeoutSeconds: expected a positive number, got {timeout}")
        kind = Webhook(url, body.get("secretFile"), body.get("caFile"), timeout, attempts)
    return Receiver(name=name, kind=kind, severities=severities)


def parse(doc: Any) -> Definition:
    """The alerting document, checked whole: names unique, every SLO's receivers defined."""
    if not isinstance(doc, Mapping):
        raise InvalidDefinition(f"alerting: expected a mapping with slos and receivers, got {doc!r}")
    slos = doc.get("slos") or []
    receivers = doc.get("receivers") or []
    if not isinstance(slos, list) or not isinstance(receivers, list):
        raise InvalidDefinition("alerting: slos and receivers are lists")
    parsed_receivers = tuple(_receiver(r, f"receivers[{i}]") for i, r in enumerate(receivers))
    parsed = tuple(_objective(s, f"slos[{i}]") for i, s in enumerate(slos))
    for label, names in (("slos", [s.name for s in parsed]), ("receivers", [r.name for r in parsed_receivers])):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise InvalidDefinition(f"{label}: names must be unique, repeated: {', '.join(twice)}")
    known = {r.name for r in parsed_receivers}
    for i, slo in enumerate(parsed):
        unknown = [r for r in slo.receivers if r not in known]
        if unknown:
            raise InvalidDefinition(f"slos[{i}].receivers: no receiver named {', '.join(unknown)}")
    anomalies = _anomaly_notices(doc.get("anomalies"), known)
    dashboard = doc.get("dashboardUrl", "http://127.0.0.1:8050")
    if not isinstance(dashboard, str) or not re.match(r"^https?://", dashboard):
        raise InvalidDefinition(f"dashboardUrl: expected an http(s) URL, got {dashboard!r}")
    return Definition(
        objectives=parsed,
        receivers=parsed_receivers,
        repeat_interval_ms=duration_ms(doc.get("repeatInterval", "4h"), "repeatInterval"),
        dashboard_url=dashboard.rstrip("/"),
        anomalies=anomalies,
    )


def _anomaly_notices(body: Any, known: set[str]) -> AnomalyNotices | None:
    if body is None:
        return None
    if not isinstance(body, Mapping):
        raise InvalidDefinition(f"anomalies: expected a mapping with receivers, got {body!r}")
    receivers = _strings(body, "receivers", "anomalies")
    unknown = [r for r in receivers if r not in known]
    if unknown:
        raise InvalidDefinition(f"anomalies.receivers: no receiver named {', '.join(unknown)}")
    severity = body.get("severity", TICKET)
    if severity not in SEVERITIES:
        raise InvalidDefinition(f"anomalies.severity: expected {' or '.join(SEVERITIES)}, got {severity!r}")
    metrics = _strings(body, "metrics", "anomalies", ANOMALY_METRICS)
    wrong = [m for m in metrics if m not in ANOMALY_METRICS]
    if wrong:
        raise InvalidDefinition(f"anomalies.metrics: expected some of {', '.join(ANOMALY_METRICS)}, got {wrong}")
    return AnomalyNotices(receivers, str(severity), metrics)


def series_apis(objective: Objective, seen: Sequence[str]) -> list[str]:
    """The APIs an objective is judged for: its one API, every API seen (``per: api``), or ``*`` (all together)."""
    if objective.api is not None:
        return [objective.api]
    if objective.per_api:
        return sorted(set(seen))
    return [ALL_APIS]
