"""Anomaly detection on the per-minute series (events per minute, error rate, p95 latency) of every API."""
