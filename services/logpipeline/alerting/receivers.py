"""Delivery of a notice to one receiver: email over SMTP, SMS through Amazon SNS, a signed webhook.

- **Email**: ``smtplib`` to the smarthost, STARTTLS (default) or implicit TLS, login when a username file is
  given; a multipart message with a plain-text and an HTML part; the notice's key as ``X-Idempotency-Key``.
- **SMS**: SNS ``Publish`` with ``PhoneNumber`` (boto3), one per number; the SNS endpoint is
  ``LOGPIPELINE_SNS_ENDPOINT`` (the local stack's DynamoDB-API server serves SNS too) or AWS's.
- **Webhook**: ``POST`` of the JSON payload with ``X-LogPipeline-Timestamp`` (unix seconds) and
  ``X-LogPipeline-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` keyed by the secret file, and the
  notice's key as ``Idempotency-Key``. A timeout, a connection error, 429 or 5xx is retried with exponential
  backoff and full jitter up to ``maxAttempts``; any other 4xx is final.

Secrets are read from their files at each delivery, so a rotated Secret takes effect without a restart.
A failed delivery raises ``DeliveryFailed`` naming the receiver and the cause.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import orjson

from logpipeline import contracts
from logpipeline.alerting import message
from logpipeline.alerting.slo import Email, Receiver, Sms, Webhook

SIGNATURE_HEADER = "X-LogPipeline-Signature"
TIMESTAMP_HEADER = "X-LogPipeline-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0


class DeliveryFailed(Exception):
    def __init__(self, receiver: str, reason: str, attempts: int = 1) -> None:
        super().__init__(f"receiver {receiver}: {reason} (after {attempts} attempt{'s' if attempts != 1 else ''})")
        self.receiver, self.reason, self.attempts = receiver, reason, attempts


def _secret(path: str | None, what: str, receiver: str) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise DeliveryFailed(receiver, f"cannot read the {what} file {path}: {exc.strerror or exc}") from exc


def _tls(ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook signature: ``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def send_email(name: str, cfg: Email, payload: dict[str, Any], key: str, timeout: float = 15.0) -> None:
    mail = EmailMessage()
    mail["Subject"] = message.subject(payload)
    mail["From"] = cfg.sender
    mail["To"] = ", ".join(cfg.to)
    mail["X-Idempotency-Key"] = key
    mail.set_content(message.text(payload))
    mail.add_alternative(message.html_body(payload), subtype="html")
    host, port = cfg.smarthost.rsplit(":", 1)
    user = _secret(cfg.username_file, "username", name)
    password = _secret(cfg.password_file, "password", name)
    try:
        smtp: smtplib.SMTP
        if cfg.tls:
            smtp = smtplib.SMTP_SSL(host, int(port), timeout=timeout, context=_tls(cfg.ca_file))
        else:
            smtp = smtplib.SMTP(host, int(port), timeout=timeout)
        with smtp:
            if cfg.starttls:
                smtp.starttls(context=_tls(cfg.ca_file))
            if user is not None:
                smtp.login(user, password or "")
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(name, f"SMTP {cfg.smarthost}: {exc}") from exc


def _sns(region: str) -> Any:
    """An SNS client; with a local endpoint and no credentials in the environment, dummy ones, and a session of
    its own (as the store's)."""
    endpoint = os.environ.get(contracts.ENV_SNS_ENDPOINT) or None
    extra: dict[str, str] = {}
    if endpoint and not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
        extra = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return boto3.session.Session().client("sns", region_name=region, endpoint_url=endpoint, **extra)


def send_sms(name: str, cfg: Sms, payload: dict[str, Any], key: str, client: Any = None) -> None:
    sns = client or _sns(cfg.region)
    body = message.sms(payload)
    for number in cfg.phone_numbers:
        try:
            sns.publish(
                PhoneNumber=number,
                Message=body,
                MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
            )
        except Exception as exc:
            raise DeliveryFailed(name, f"SNS Publish to {number}: {exc}") from exc


def send_webhook(
    name: str, cfg: Webhook, payload: dict[str, Any], key: str, stop: threading.Event | None = None
) -> int:
    """POST the payload; returns the attempts it took."""
    body = orjson.dumps({**payload, "idempotencyKey": key})
    secret = _secret(cfg.secret_file, "secret", name)
    context = _tls(cfg.ca_file) if cfg.url.startswith("https") else None
    reason = ""
    for attempt in range(1, cfg.max_attempts + 1):
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp, IDEMPOTENCY_HEADER: key}
        if secret is not None:
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        request = urllib.request.Request(cfg.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=cfg.timeout_s, context=context) as response:
                response.read()
            return attempt
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code} from {cfg.url}"
            if exc.code != 429 and exc.code < 500:
                raise DeliveryFailed(name, reason, attempt) from exc
        except (OSError, TimeoutError) as exc:
            reason = f"{cfg.url}: {getattr(exc, 'reason', None) or exc}"
        if attempt < cfg.max_attempts:
            delay = random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1)))
            if stop is not None and stop.wait(delay):
                break
            if stop is None:
                time.sleep(delay)
    raise DeliveryFailed(name, reason or "stopped", cfg.max_attempts)


def deliver(receiver: Receiver, payload: dict[str, Any], key: str, stop: threading.Event | None = None) -> None:
    kind = receiver.kind
    if isinstance(kind, Email):
        send_email(receiver.name, kind, payload, key)
    elif isinstance(kind, Sms):
        send_sms(receiver.name, kind, payload, key)
    else:
        send_webhook(receiver.name, kind, payload, key, stop)
