"""The metrics store: the DynamoDB table of per-minute aggregates and its minute digests, and nothing else.

Pure parts (no I/O): ``records`` (aggregate parsing and versions), ``layout`` (keys and item encoding), ``digest``
(minute digests), ``revisions`` (the change signal of settled hours), ``rollup`` (the dashboard's figures from
stored windows), ``synthetic`` (generated history), ``backoff`` (retry delays). I/O parts: ``store`` (table
creation, writers, classified errors) and ``query`` (the read path: ``Reader``). The sink that fills the store is
``logpipeline.sink``; Prometheus metrics of each service are in its own ``telemetry`` module.
"""
