"""``logpipeline up`` with an error incident and an SLO definition: the alerts service it starts pages by email
and by signed webhook, as a user would see it (a real SMTP server with STARTTLS and AUTH, a webhook server that
checks the signature). The whole pipeline runs on private topics, table and ports."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from logpipeline import config
from logpipeline.pipeline import processes
from support import local_pipeline
from support.receivers import SmtpServer, WebhookServer

API = "/api/v1/payments"
SECRET = "e2e-webhook-key"
DEFINITION = """
dashboardUrl: http://127.0.0.1:8050
slos:
  - name: payments-availability
    objective: availability
    target: 0.99
    window: 30d
    api: {api}
    receivers: [mail, hook]
receivers:
  - name: mail
    email: {{to: [oncall@example.org], from: slo@example.org, smarthost: "127.0.0.1:{port}", startTLS: true,
            usernameFile: {tmp}/user, passwordFile: {tmp}/password, caFile: {cert}}}
  - name: hook
    webhook: {{url: "{hook}", secretFile: {tmp}/secret}}
"""


@pytest.fixture(scope="module")
def receivers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SmtpServer, WebhookServer, Path]]:
    tmp = tmp_path_factory.mktemp("alerting")
    with SmtpServer(tmp) as smtp, WebhookServer(SECRET) as hook:
        (tmp / "user").write_text(smtp.user)
        (tmp / "password").write_text(smtp.password)
        (tmp / "secret").write_text(SECRET)
        path = tmp / "alerting.yaml"
        path.write_text(DEFINITION.format(api=API, port=smtp.port, tmp=tmp, cert=smtp.cert, hook=hook.url))
        yield smtp, hook, path


def test_an_error_incident_pages_by_email_and_webhook(
    stack: config.Settings, receivers: tuple[SmtpServer, WebhookServer, Path]
) -> None:
    smtp, hook, definition = receivers
    options = processes.Options(
        rate=200.0, incidents=(f"{API}:errors:0:3600:40",), dashboard=False, correct_every=0, archive="local",
        alerting=definition, alerts_interval=5.0,
    )  # fmt: skip
    with local_pipeline.running("alerts", options):
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline and not (smtp.messages and hook.bodies()):
            time.sleep(2)
        assert smtp.messages, "no email arrived"
        assert hook.bodies(), f"no webhook arrived (refused signatures: {hook.refused})"
    body = hook.bodies()[0]
    assert (body["slo"], body["api"], body["severity"], body["status"]) == (
        "payments-availability",
        API,
        "page",
        "firing",
    )
    assert body["burnRates"]["5m"] > 14.4
    mail = smtp.messages[0]
    assert mail["Subject"].startswith("[PAGE] SLO payments-availability (/api/v1/payments)")
    assert mail["X-Idempotency-Key"].strip() == body["idempotencyKey"]
