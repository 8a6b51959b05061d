"""Real servers on loopback that receive the alerts' notifications, for tests to read back what arrived.

- ``SmtpServer``: aiosmtpd with STARTTLS (a self-signed certificate made with ``openssl``) and AUTH LOGIN/PLAIN
  required after TLS; it keeps every message it accepted.
- ``WebhookServer``: an HTTP server that checks the HMAC-SHA256 signature over ``<timestamp>.<body>`` with its
  secret, refuses a bad one with 401, and can be told to answer 500 or to stall past the client's timeout.
- ``recorded_sms``: the SNS ``Publish`` calls with a ``PhoneNumber`` that a moto server recorded.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import ssl
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from logpipeline.stack import process

SIGNATURE, TIMESTAMP, IDEMPOTENCY = "X-LogPipeline-Signature", "X-LogPipeline-Timestamp", "Idempotency-Key"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost and its key (PEM files)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class _Inbox:
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        with self.lock:
            self.messages.append(email.message_from_bytes(content, policy=email.policy.default))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on a free loopback port: STARTTLS, then AUTH with ``user``/``password``, then mail."""

    def __init__(self, folder: Path, user: str = "alerts", password: str = "s3cret-pass") -> None:
        self.cert, key = self_signed(folder)
        self.user, self.password = user, password
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(str(self.cert), str(key))
        self.inbox = _Inbox()
        self.port = process.free_port()

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (user.encode(), password.encode())
            return AuthResult(success=ok)

        self.controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=tls,
            require_starttls=True,
            authenticator=authenticate,
            auth_required=True,
            auth_require_tls=True,
        )

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[Message]:
        with self.inbox.lock:
            return list(self.inbox.messages)


@dataclass
class Delivery:
    body: dict[str, Any]
    headers: dict[str, str]
    at: float


class WebhookServer:
    """Accepts signed POSTs; ``mode`` is ``ok``, ``fail`` (500) or ``stall`` (answers after ``stall_s``)."""

    def __init__(self, secret: str, stall_s: float = 3.0) -> None:
        self.secret, self.stall_s = secret, stall_s
        self.mode = "ok"
        self.accepted: list[Delivery] = []
        self.refused: list[str] = []
        self.attempts = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.attempts += 1
                    mode = outer.mode
                if mode == "stall":
                    time.sleep(outer.stall_s)
                if mode == "fail":
                    return self._answer(500)
                stamp, given = self.headers.get(TIMESTAMP, ""), self.headers.get(SIGNATURE, "")
                want = (
                    "sha256="
                    + hmac.new(outer.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
                )
                if not hmac.compare_digest(given, want) or abs(time.time() - float(stamp or 0)) > 300:
                    with outer.lock:
                        outer.refused.append(given)
                    return self._answer(401)
                with outer.lock:
                    outer.accepted.append(Delivery(json.loads(body), dict(self.headers.items()), time.time()))
                self._answer(204)

            def _answer(self, code: int) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up (stall)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> WebhookServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [d.body for d in self.accepted]


def start_recording(endpoint: str) -> None:
    urllib.request.urlopen(
        urllib.request.Request(f"{endpoint}/moto-api/recorder/start-recording", method="POST")
    ).read()


def recorded_sms(endpoint: str) -> list[dict[str, str]]:
    """The SNS Publish requests with a PhoneNumber the server received while recording (form fields)."""
    with urllib.request.urlopen(f"{endpoint}/moto-api/recorder/download-recording") as response:
        lines = response.read().decode().splitlines()
    found = []
    for line in lines:
        entry = json.loads(line)
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode()
        fields = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
        if fields.get("Action") == "Publish" and "PhoneNumber" in fields:
            found.append(fields)
    return found
