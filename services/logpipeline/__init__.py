"""Log Realtime Analysis: the shared package (schemas, config, clients) and the services built on it."""

__version__ = "0.1.0"
