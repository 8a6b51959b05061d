"""``logpipeline topics ensure``: create or update the input, aggregates and dead-letter topics."""

from __future__ import annotations

import typer
from confluent_kafka import KafkaException

from logpipeline import config
from logpipeline.cli.progress import result
from logpipeline.kafka import topics

app = typer.Typer(no_args_is_help=True, help="Manage the pipeline's Kafka topics.")


@app.command()
def ensure(
    bootstrap: str = typer.Option(None, help="Kafka bootstrap servers (default: the local stack)"),
    input_topic: str = typer.Option(None, help="input topic (default LOGPIPELINE_INPUT_TOPIC or logging_info)"),
    aggregates_topic: str = typer.Option(None, help="aggregates topic (default agg_logging_info)"),
    partitions: int = typer.Option(3, min=1, help="partitions of the input and aggregates topics"),
    retention_days: float = typer.Option(7.0, min=0.001, help="retention of input and aggregates"),
) -> None:
    """Idempotent: prints one line per topic (created, partitions, config, unchanged or refused)."""
    settings = config.load()
    names = settings.names
    names = config.Names(
        input_topic=input_topic or names.input_topic,
        aggregates_topic=aggregates_topic or names.aggregates_topic,
        table=names.table,
        pipeline=names.pipeline,
    )
    specs = topics.default_topics(names, partitions=partitions, retention_days=retention_days)
    try:
        changes = topics.ensure(topics.admin_client(bootstrap or settings.kafka_bootstrap), specs)
    except KafkaException as exc:
        typer.echo(f"error: kafka: {exc.args[0]}", err=True)
        raise typer.Exit(1) from None
    for change in changes:
        typer.echo(str(change), err=True)
    result(changes=[{"topic": c.topic, "action": c.action, "detail": c.detail} for c in changes])
    if any(c.action == "refused" for c in changes):
        raise typer.Exit(2)
