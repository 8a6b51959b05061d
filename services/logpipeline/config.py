"""Runtime settings of the local stack, read from the environment.

Every port and directory can be overridden with a ``LOGPIPELINE_*`` variable, so
that two stacks (a user's and a test run's) can live side by side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from logpipeline import contracts
from logpipeline.events.schema import DEFAULT_MAX_AHEAD_MS

HOST = "127.0.0.1"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer port, got {value!r}") from exc


def cache_dir() -> Path:
    """One cache for every downloaded artifact (jars, Ivy, Go binaries)."""
    xdg = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser()
    return _env_path("LOGPIPELINE_CACHE", xdg / "logpipeline")


def state_dir() -> Path:
    """All data, logs and pid files of the local stack."""
    xdg = Path(os.environ.get("XDG_STATE_HOME", "~/.local/state")).expanduser()
    return _env_path("LOGPIPELINE_STATE", xdg / "logpipeline")


@dataclass(frozen=True)
class Ports:
    """Loopback ports of the local stack."""

    kafka: int = contracts.KAFKA_PORT
    kafka_controller: int = 9093
    kafka_sasl: int = contracts.KAFKA_SASL_PORT
    namenode_rpc: int = contracts.NAMENODE_RPC_PORT
    namenode_http: int = contracts.NAMENODE_HTTP_PORT
    datanode: int = 9866
    datanode_http: int = 9864
    datanode_ipc: int = 9867
    dynamodb: int = contracts.DYNAMODB_PORT
    dashboard: int = contracts.DASHBOARD_PORT
    sink_http: int = contracts.SINK_HTTP_PORT
    generator_http: int = contracts.GENERATOR_HTTP_PORT
    spark_http: int = contracts.SPARK_HTTP_PORT
    spark_ui: int = 4040
    correction_http: int = contracts.CORRECTION_HTTP_PORT
    alerts_http: int = contracts.ALERTS_HTTP_PORT
    anomalies_http: int = contracts.ANOMALIES_HTTP_PORT

    @classmethod
    def from_env(cls) -> Ports:
        defaults = cls()
        return cls(
            **{
                name: _env_int(f"LOGPIPELINE_{name.upper()}_PORT", getattr(defaults, name))
                for name in cls.__dataclass_fields__
            }
        )


@dataclass(frozen=True)
class Names:
    """Topic and table names of one pipeline (overridable by LOGPIPELINE_INPUT_TOPIC etc.)."""

    input_topic: str = contracts.INPUT_TOPIC
    aggregates_topic: str = contracts.AGGREGATES_TOPIC
    anomalies_topic: str = contracts.ANOMALIES_TOPIC
    table: str = contracts.TABLE
    pipeline: str = contracts.PIPELINE

    @property
    def dlq_topic(self) -> str:
        return os.environ.get(contracts.ENV_DLQ_TOPIC) or contracts.dlq_topic(self.input_topic)

    @classmethod
    def from_env(cls) -> Names:
        defaults = cls()
        env = {
            "input_topic": contracts.ENV_INPUT_TOPIC,
            "aggregates_topic": contracts.ENV_AGGREGATES_TOPIC,
            "anomalies_topic": contracts.ENV_ANOMALIES_TOPIC,
            "table": contracts.ENV_TABLE,
            "pipeline": contracts.ENV_PIPELINE,
        }
        return cls(**{name: os.environ.get(env[name], getattr(defaults, name)) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Settings:
    """Where the local stack lives and how to reach it."""

    state: Path = field(default_factory=state_dir)
    cache: Path = field(default_factory=cache_dir)
    ports: Ports = field(default_factory=Ports.from_env)
    names: Names = field(default_factory=Names.from_env)
    host: str = HOST

    # Where the servers are; by default the local stack, or set (e.g. by the operator's ConfigMap) with
    # LOGPIPELINE_KAFKA_BOOTSTRAP, LOGPIPELINE_HDFS_URL, LOGPIPELINE_WEBHDFS_URL, LOGPIPELINE_DYNAMODB_ENDPOINT.
    kafka_bootstrap_url: str | None = field(default_factory=lambda: os.environ.get(contracts.ENV_KAFKA_BOOTSTRAP))
    hdfs: str | None = field(default_factory=lambda: os.environ.get(contracts.ENV_HDFS_URL))
    webhdfs: str | None = field(default_factory=lambda: os.environ.get(contracts.ENV_WEBHDFS_URL))
    dynamodb: str | None = field(default_factory=lambda: os.environ.get(contracts.ENV_DYNAMODB_ENDPOINT))

    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka_bootstrap_url or f"{self.host}:{self.ports.kafka}"

    @property
    def hdfs_url(self) -> str:
        return self.hdfs or f"hdfs://{self.host}:{self.ports.namenode_rpc}"

    @property
    def webhdfs_url(self) -> str:
        return self.webhdfs or f"http://{self.host}:{self.ports.namenode_http}"

    @property
    def dynamodb_endpoint(self) -> str:
        return self.dynamodb or f"http://{self.host}:{self.ports.dynamodb}"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def run(self) -> Path:
        return self.state / "run"

    @property
    def data(self) -> Path:
        return self.state / "data"


def max_ahead_ms() -> int:
    """How far past its arrival an event may be stamped (``LOGPIPELINE_MAX_AHEAD_SECONDS``, default 300)."""
    value = os.environ.get(contracts.ENV_MAX_AHEAD_SECONDS)
    if not value:
        return DEFAULT_MAX_AHEAD_MS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise ValueError(f"LOGPIPELINE_MAX_AHEAD_SECONDS must be a number of seconds >= 0, got {value!r}")
    return int(seconds * 1000)


def region() -> str:
    """This pipeline's region (``LOGPIPELINE_REGION``; empty: a single-region store): the keys of everything it
    writes carry it, and it reads its own items (``logpipeline.metrics.layout``)."""
    value = os.environ.get(contracts.ENV_REGION, "").strip()
    try:
        return contracts.check_region(value) if value else ""
    except ValueError as exc:
        raise ValueError(f"{contracts.ENV_REGION}: {exc}") from None


def load() -> Settings:
    return Settings()
