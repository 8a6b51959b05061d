"""What the producing commands (``generate``, ``ingest``) share: a checked connection and their health endpoints."""

from __future__ import annotations

import typer
from prometheus_client import CollectorRegistry

from logpipeline import config, contracts
from logpipeline.cli.progress import log
from logpipeline.kafka import topics
from logpipeline.kafka.producer import BrokerHealth, Sender
from logpipeline.observability import serve


def connect(bootstrap: str | None, topic: str | None, dlq_topic: str | None = None) -> tuple[Sender, Sender | None]:
    """A sender to ``topic`` (default: the input topic) and, when ``dlq_topic`` is given ("" for the default
    ``<topic>.dlq``), one to the dead-letter topic through the same producer. Exits 1 with the one-line cause when
    the broker does not answer or a topic is missing."""
    settings = config.load()
    address = bootstrap or settings.kafka_bootstrap
    sender = Sender.connect(address, topic or settings.names.input_topic)
    dead = None if dlq_topic is None else sender.sibling(dlq_topic or contracts.dlq_topic(sender.topic))
    try:
        topics.require(sender.producer, address, [sender.topic] + ([dead.topic] if dead else []))
    except topics.MissingTopics as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    return sender, dead


def serve_health(registry: CollectorRegistry, sender: Sender, prefix: str, port: int | None) -> None:
    """/healthz, /readyz (the broker acknowledges) and /metrics on ``port`` (0: any free; None: not served)."""
    if port is None:
        return
    health = BrokerHealth(sender.producer, sender.failures, prefix)
    registry.register(health)
    server = serve("0.0.0.0", port, registry, ready=health.ready)
    log("serving", port=server.server_address[1], paths=["/healthz", "/readyz", "/metrics"])
