"""The kopf operator for ``LogPipeline`` resources: pure builders and thin handlers."""
