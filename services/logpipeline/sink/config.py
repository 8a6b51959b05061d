"""Settings of one sink: where it reads, where it writes, how it batches and retries."""

from __future__ import annotations

from dataclasses import dataclass

from logpipeline import contracts
from logpipeline.metrics import digest
from logpipeline.metrics.layout import DEFAULT_RETENTION_DAYS, DEFAULT_SHARDS


@dataclass(frozen=True)
class SinkConfig:
    bootstrap: str
    topic: str
    dlq_topic: str
    table: str
    endpoint: str | None
    group: str = "logpipeline-sink"
    batch_size: int = 1000
    poll_timeout: float = 0.2  # a batch waits at most this long for more records: part of the freshness
    shards: int = DEFAULT_SHARDS
    digest_shards: int = digest.DEFAULT_SHARDS
    retention_days: int = DEFAULT_RETENTION_DAYS
    http_host: str = "127.0.0.1"
    http_port: int = contracts.SINK_HTTP_PORT
    max_backoff: float = 10.0
    generation_check_s: float = 15.0
    create_topics: bool = True
    topic_partitions: int = contracts.PARTITIONS[contracts.AGGREGATES]
    replica_regions: tuple[str, ...] = ()  # global tables: the tables get a replica in each (metrics.replicas)
    region: str = ""  # a regional pipeline's region, in every key the sink writes ("": a single-region store)
