"""SLO alerting: multiwindow burn-rate rules over the metrics store, an Alertmanager-like lifecycle, and email,
SMS and webhook receivers (``logpipeline alerts``)."""
