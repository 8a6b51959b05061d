"""The live tail's HTTP endpoint, behind the sign-in guard: ``GET /api/v1/tail?api=&level=&status=&q=`` answers a
``text/event-stream``:

- ``ready``: the tail reads from the newest offsets (every record written after this is offered to it);
- ``lines``: a JSON array of lines (``filters.Line.wire``), at most ``LOGPIPELINE_DASHBOARD_LIVE_LINES_PER_SECOND``
  (default 500) a second;
- ``counts``: once a second, ``{"scanned", "matched", "sent", "sampled_out"}`` since the tail opened;
- ``problem``: the broker or topic cannot be read (the tail goes on trying).

A bad filter answers 400 naming the parameter; the worker's limit of tails (``LOGPIPELINE_DASHBOARD_LIVE_TAILS``,
default 4) answers 429 with ``Retry-After``. A stream ends after ``MAX_SECONDS`` (the page opens it again, which checks
the session again).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator

import flask

from logpipeline import config, contracts
from logpipeline.dashboard import telemetry
from logpipeline.dashboard.auth import access
from logpipeline.dashboard.settings import env_int
from logpipeline.dashboard.tail import filters
from logpipeline.dashboard.tail.hub import Busy, Hub, consumer_config
from logpipeline.dashboard.tail.subscription import Subscription
from logpipeline.kafka import security

PATH = "/api/v1/tail"
MAX_SECONDS = 900
COUNTS_EVERY_S = 1.0
KEEPALIVE_S = 2.0  # while waiting for the broker: a comment line, so a client that left is noticed
_hub: Hub | None = None
_hub_lock = threading.Lock()


def max_tails() -> int:
    return env_int(contracts.ENV_DASHBOARD_LIVE_TAILS, contracts.DASHBOARD_LIVE_TAILS, 0)


def hub() -> Hub:
    """This worker's hub, made at its first tail."""
    with _hub_lock:
        return _hub or _make_hub()


def _make_hub() -> Hub:
    global _hub
    if _hub is None:
        settings = config.load()
        user = security.client_config().get("sasl.username") or f"{settings.names.pipeline}-dashboard"
        per_second = env_int(
            contracts.ENV_DASHBOARD_LIVE_LINES_PER_SECOND, contracts.DASHBOARD_LIVE_LINES_PER_SECOND, 1
        )
        made = consumer_config(settings.kafka_bootstrap, f"{user}-tail")
        _hub = Hub(settings.names.input_topic, made, max_tails(), float(per_second))
    return _hub


def _event(kind: str, data: object) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _error(status: int, message: str, **headers: str) -> flask.Response:
    body = json.dumps({"error": message}) + "\n"
    return flask.Response(body, status=status, mimetype="application/json", headers=headers)


def install(server: flask.Flask) -> None:
    def tail() -> flask.Response:
        access.principal()
        try:
            flt = filters.parse(flask.request.args.to_dict(flat=False))
        except filters.FilterError as exc:
            return _error(400, str(exc))
        try:
            h = hub()
        except security.KafkaSecurityError as exc:  # on Kubernetes: the KafkaUser's Secret is not there yet
            return _error(503, f"the live tail cannot sign in to Kafka: {exc}")
        try:
            sub = h.subscribe(flt)
        except Busy as exc:
            return _error(429, str(exc), **{"Retry-After": "5"})
        response = flask.Response(
            _events(h, sub),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        # closing the response frees the slot, also when the body never ran (a HEAD request)
        response.call_on_close(lambda: h.unsubscribe(sub))
        return response

    server.add_url_rule(PATH, "live_tail", tail, methods=["GET"])


def _events(h: Hub, sub: Subscription) -> Iterator[str]:
    ends = time.monotonic() + MAX_SECONDS
    said: str | None = None
    sent = sampled = 0
    try:
        yield "retry: 3000\n\n"
        while not sub.ready.wait(KEEPALIVE_S):
            if sub.problem != said:
                said = sub.problem
                yield _event("problem", {"message": said})
            else:
                yield ": waiting for the input topic\n\n"
            if time.monotonic() > ends:
                return
        yield _event("ready", {"filter": sub.filter.query(), "pid": os.getpid()})
        counted = 0.0
        while time.monotonic() < ends:
            lines, counts = sub.take(0.25)
            if sub.problem != said:
                said = sub.problem
                yield _event("problem", {"message": said})
            if lines:
                yield _event("lines", lines)
            now = time.monotonic()
            if now - counted >= COUNTS_EVERY_S:
                counted = now
                telemetry.TAIL_SENT.inc(counts.sent - sent)
                telemetry.TAIL_SAMPLED_OUT.inc(counts.sampled_out - sampled)
                sent, sampled = counts.sent, counts.sampled_out
                yield _event("counts", counts.wire())
    finally:
        h.unsubscribe(sub)
        final = sub.counts()
        telemetry.TAIL_SENT.inc(final.sent - sent)
        telemetry.TAIL_SAMPLED_OUT.inc(final.sampled_out - sampled)
