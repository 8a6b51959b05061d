"""The sink: consumes the aggregates topic into the metrics store (``service``), with its settings (``config``),
its retries of the store (``retry``) and its Prometheus metrics (``telemetry``)."""
