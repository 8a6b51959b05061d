"""Pure builders: a defaulted LogPipeline object in, Kubernetes manifest dicts out (no I/O, no client)."""
