"""Which service processes ``logpipeline up`` runs and how each proves it is ready (pure: builds argv only).

Services run as their own processes (``logpipeline <command>`` or ``python -m logpipeline_spark.job``),
each serving ``/readyz`` on a loopback port, so the runner can supervise them like the stack's servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from logpipeline import contracts
from logpipeline.config import Settings
from logpipeline.ingest.formats import FORMATS as INGEST_FORMATS

SERVICE_PORTS = (
    "dashboard", "sink_http", "generator_http", "spark_http", "spark_ui", "correction_http", "alerts_http",
    "anomalies_http",
)  # fmt: skip


@dataclass(frozen=True)
class Options:
    """What the user chose on the command line of ``logpipeline up``."""

    rate: float = 200.0
    incidents: tuple[str, ...] = ()
    seed: int = 0
    ingest: Path | None = None
    ingest_format: str = "combined"
    ingest_speedup: float | None = None
    follow: bool = False
    archive: str = "hdfs"  # hdfs | local
    dashboard: bool = True
    generator: bool = True
    correct_every: float = 300.0  # seconds between correction runs; 0: no correction service
    alerting: Path | None = None  # SLO and receiver definition: runs the alerts service
    alerts_interval: float = 60.0  # seconds between evaluation cycles
    anomalies: bool = True  # the anomaly scorer and its daily training
    train_every: float = 86_400.0  # seconds between training runs
    mode: str = contracts.AGGREGATES_MODES[0]  # how the Spark job's aggregates query runs


@dataclass(frozen=True)
class Service:
    name: str
    argv: list[str]
    ready_url: str | None
    env: dict[str, str] = field(default_factory=dict)
    ready_timeout: float = 180.0


def archive_root(settings: Settings, options: Options) -> str:
    if options.archive == "local":
        return (settings.state / "archive").as_uri()
    if options.archive == "hdfs":
        return settings.hdfs_url
    raise ValueError(f"archive: expected hdfs or local, got {options.archive!r}")


def stack_components(options: Options) -> list[str]:
    """The stack components the pipeline needs: HDFS only when it archives there."""
    return ["kafka", "dynamodb"] + (["hdfs"] if options.archive == "hdfs" else [])


def admin_password_file(settings: Settings) -> Path:
    """The first dashboard user's password (``admin``, made while the accounts table has no user)."""
    return settings.state / f"{settings.names.pipeline}.dashboard-admin-password"


def services(settings: Settings, options: Options, python: str, cli: str) -> list[Service]:
    """The service processes in start order: sink and dashboard first, then the job and its correction, then the
    source."""
    host, p = settings.host, settings.ports
    out = [
        Service("sink", [cli, "sink", "--http-port", str(p.sink_http)], f"http://{host}:{p.sink_http}/readyz"),
    ]
    if options.dashboard:
        out.append(
            Service(
                "dashboard",
                [cli, "dashboard", "--bind", f"{host}:{p.dashboard}"],
                f"http://{host}:{p.dashboard}/readyz",
                env={
                    contracts.ENV_SINK_METRICS_URL: f"http://{host}:{p.sink_http}/metrics",
                    contracts.ENV_JOB_METRICS_URL: f"http://{host}:{p.spark_http}/metrics",
                    contracts.ENV_DASHBOARD_ADMIN_PASSWORD_FILE: str(admin_password_file(settings)),
                    # "logs of this minute" reads the raw archive (hdfs:// through WebHDFS, or local files)
                    contracts.ENV_ARCHIVE_ROOT: archive_root(settings, options),
                },
            )
        )
    if options.alerting is not None:
        argv = [cli, "alerts", "run", "--file", str(options.alerting), "--http-port", str(p.alerts_http),
                "--interval", str(options.alerts_interval)]  # fmt: skip
        # the local DynamoDB-API server serves SNS too: SMS receivers publish there
        env = {contracts.ENV_SNS_ENDPOINT: settings.dynamodb_endpoint}
        out.append(Service("alerts", argv, f"http://{host}:{p.alerts_http}/readyz", env=env))
    archive = ["--archive-root", archive_root(settings, options)]

    def spark(name: str, module: str, port: int, *args: str) -> Service:
        """A Spark application of ``logpipeline_spark`` with its health endpoints on ``port``."""
        argv = [python, "-m", module, *archive, "--metrics-port", str(port), *args]
        return Service(name, argv, f"http://{host}:{port}/readyz", ready_timeout=300.0)

    # Everything already on the topic counts; after the first start the checkpoint decides.
    out.append(spark("spark", "logpipeline_spark.job", p.spark_http, "--ui-port", str(p.spark_ui),
                     "--starting-offsets", "earliest", "--mode", options.mode))  # fmt: skip
    if options.correct_every > 0:
        out.append(spark("correction", "logpipeline_spark.correct", p.correction_http,
                         "--every", str(options.correct_every), "--driver-memory", "1g"))  # fmt: skip
    if options.anomalies:
        # the scorer learns from the metrics table until the first model; the training job writes one a day
        argv = [cli, "anomalies", "run", *archive, "--http-port", str(p.anomalies_http)]
        if options.alerting is not None:  # its anomalies section (if any) names who hears of anomalies
            argv += ["--alerting", str(options.alerting)]
        env = {contracts.ENV_SNS_ENDPOINT: settings.dynamodb_endpoint}
        out.append(Service("anomalies", argv, f"http://{host}:{p.anomalies_http}/readyz", env=env))
        train = [python, "-m", "logpipeline_spark.train", *archive, "--every", str(options.train_every)]
        out.append(Service("training", train, None))
    if options.ingest is not None:
        if options.ingest_format not in INGEST_FORMATS:
            raise ValueError(
                f"ingest format: expected one of {', '.join(INGEST_FORMATS)}, got {options.ingest_format!r}"
            )
        argv = [cli, "ingest", str(options.ingest), "--format", options.ingest_format]
        if options.ingest_speedup is not None:
            argv += ["--speedup", str(options.ingest_speedup)]
        if options.follow:
            argv.append("--follow")
        out.append(Service("ingest", argv, None))
    elif options.generator:
        argv = [cli, "generate", "--rate", str(options.rate), "--seed", str(options.seed)]
        argv += ["--metrics-port", str(p.generator_http)]
        for incident in options.incidents:
            argv += ["--incident", incident]
        out.append(Service("generator", argv, f"http://{host}:{p.generator_http}/readyz"))
    return out
