"""Metrics store: the DynamoDB table of per-minute aggregates, the sink that fills it and the query layer.

Pure parts (no I/O): ``records`` (aggregate parsing and versions), ``layout`` (keys and item encoding), ``digest`` (minute digests),
``rollup`` (the dashboard's figures from stored windows), ``backoff`` (retry delays). I/O parts: ``store``
(table creation, writers, reader), ``query`` (the dashboard's data-access API), ``sink`` (the Kafka consumer
service), ``service`` (health endpoints, Prometheus metrics, JSON logs).
"""
