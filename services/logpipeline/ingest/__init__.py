"""File ingest: access-log and JSON-lines parsing (pure), file following, and replay into Kafka."""
