"""The sink: consumes the aggregates topic into the metrics store (``service``), with its settings (``config``)
and Prometheus metrics (``telemetry``)."""
