"""The names every part of the pipeline agrees on, defined once (pure, standard library only).

Topics (names, partitions, configs), environment variable names, ports, table names and dead-letter headers.
The local stack (``topics ensure``), the services, the Spark jobs and the operator's builders all import this
module, so none of them can drift from another; the operator image ships this file beside its own package.
"""

from __future__ import annotations

import re

# -- topics -------------------------------------------------------------------------------------------------
INPUT_TOPIC = "logging_info"
AGGREGATES_TOPIC = "agg_logging_info"
ANOMALIES_TOPIC = "anomalies_logging_info"  # every scored minute and every anomaly, keyed <api>|<metric>
DLQ_SUFFIX = ".dlq"

# The roles of a pipeline's topics, as the LogPipeline spec names them (spec.kafka.topics.<role>).
INPUT, AGGREGATES, DEAD_LETTER, ANOMALIES = "input", "aggregates", "deadLetter", "anomalies"
TOPIC_ROLES = (INPUT, AGGREGATES, DEAD_LETTER, ANOMALIES)

DAY_MS = 86_400_000
PARTITIONS = {INPUT: 3, AGGREGATES: 3, DEAD_LETTER: 1, ANOMALIES: 1}
RETENTION_MS = {INPUT: 7 * DAY_MS, AGGREGATES: 7 * DAY_MS, DEAD_LETTER: 30 * DAY_MS, ANOMALIES: 7 * DAY_MS}
MAX_MESSAGE_BYTES = 8 << 20  # room for dead letters of oversized lines
COMPRESSION = "lz4"
CLEANUP_POLICY = {
    INPUT: "delete",
    # The newest full value of every aggregate id survives: the sink rebuilds a lost table by replaying the topic.
    AGGREGATES: "compact,delete",
    DEAD_LETTER: "delete",
    ANOMALIES: "delete",
}


def dlq_topic(input_topic: str) -> str:
    """The dead-letter topic of an input topic."""
    return input_topic + DLQ_SUFFIX


def topic_configs(role: str, retention_ms: int | None = None) -> dict[str, str]:
    """The broker configs of a topic of ``role`` (values as Kafka's Admin API takes them).

    The input's record timestamps are the broker's (``LogAppendTime``): the Spark job measures an event's clock skew
    against its record's timestamp, which a producer with a wrong clock would otherwise set."""
    if role not in CLEANUP_POLICY:
        raise KeyError(f"unknown topic role {role!r}; known: {', '.join(TOPIC_ROLES)}")
    configs = {
        "cleanup.policy": CLEANUP_POLICY[role],
        "compression.type": COMPRESSION,
        "max.message.bytes": str(MAX_MESSAGE_BYTES),
        "retention.ms": str(RETENTION_MS[role] if retention_ms is None else retention_ms),
    }
    if role == INPUT:
        configs["message.timestamp.type"] = "LogAppendTime"
    return configs


# -- anomaly detection: the series scored for every API (events per minute, error rate in [0, 1], p95 in ms) ----
EVENTS_METRIC, ERROR_RATE_METRIC, P95_METRIC = "events", "error_rate", "p95"
ANOMALY_METRICS = (EVENTS_METRIC, ERROR_RATE_METRIC, P95_METRIC)

# -- the metrics store ----------------------------------------------------------------------------------------
TABLE = "agg_system_logs"
PIPELINE = "logpipeline"
TTL_DAYS = 30

# -- dead-letter headers (ingest, Spark job, sink): the value keeps the original bytes ------------------------
DLQ_REASON = "dlq.reason"  # human-readable: "<field>: expected <what>, got <value>"
DLQ_STAGE = "dlq.stage"  # ingest | generator | spark | sink
DLQ_SOURCE = "dlq.source"  # file path, or topic the record came from
DLQ_POSITION = "dlq.position"  # line number, or "partition:offset"
DLQ_ERROR_CLASS = "dlq.error"  # short machine-readable class: not_json, missing_field, wrong_type, too_far_ahead...
DLQ_ORIGINAL_SIZE = "dlq.original_size"  # set when the value was truncated to fit the dead-letter topic

# -- ports (the local stack's defaults, also the containers' ports on Kubernetes) -----------------------------
DASHBOARD_PORT = 8050
DASHBOARD_METRICS_PORT = 9112  # in a cluster: the dashboard's /metrics, apart from what an Ingress routes
SINK_HTTP_PORT = 9108
GENERATOR_HTTP_PORT = 9109
SPARK_HTTP_PORT = 9110
CORRECTION_HTTP_PORT = 9111
ALERTS_HTTP_PORT = 9113
ANOMALIES_HTTP_PORT = 9114
DYNAMODB_PORT = 8000
KAFKA_PORT = 9092
KAFKA_SASL_PORT = 9094  # the local stack's SASL/SCRAM listener (ACLs apply there; the plain one is the admin's)
NAMENODE_HTTP_PORT = 9870
NAMENODE_RPC_PORT = 9000  # the local stack's; in a cluster the NameNode listens on Hadoop's default below
NAMENODE_RPC_PORT_K8S = 8020

# -- environment variables: set by ``logpipeline up`` or the operator's ConfigMap, read by the services ------
ENV_PIPELINE = "LOGPIPELINE_PIPELINE"
ENV_KAFKA_BOOTSTRAP = "LOGPIPELINE_KAFKA_BOOTSTRAP"
# Kafka authentication (none when the protocol is unset or PLAINTEXT): SASL/SCRAM with a user and password.
ENV_KAFKA_SECURITY_PROTOCOL = "LOGPIPELINE_KAFKA_SECURITY_PROTOCOL"
ENV_KAFKA_SASL_MECHANISM = "LOGPIPELINE_KAFKA_SASL_MECHANISM"
ENV_KAFKA_USERNAME = "LOGPIPELINE_KAFKA_USERNAME"
ENV_KAFKA_PASSWORD = "LOGPIPELINE_KAFKA_PASSWORD"
SCRAM = "SCRAM-SHA-512"
ENV_INPUT_TOPIC = "LOGPIPELINE_INPUT_TOPIC"
ENV_AGGREGATES_TOPIC = "LOGPIPELINE_AGGREGATES_TOPIC"
ENV_ANOMALIES_TOPIC = "LOGPIPELINE_ANOMALIES_TOPIC"
ENV_DLQ_TOPIC = "LOGPIPELINE_DLQ_TOPIC"
ENV_TABLE = "LOGPIPELINE_TABLE"
ENV_TTL_DAYS = "LOGPIPELINE_TTL_DAYS"
ENV_DYNAMODB_ENDPOINT = "LOGPIPELINE_DYNAMODB_ENDPOINT"
ENV_REGION = "LOGPIPELINE_REGION"  # a regional pipeline's region: its items' keys carry it (metrics.layout)
ENV_REPLICA_REGIONS = "LOGPIPELINE_REPLICA_REGIONS"  # the metrics tables' replicas (global tables), comma-separated
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"  # an AWS region name (the CRD's pattern): never holds "#" or "|"


def check_region(name: str) -> str:
    """``name`` when it is an AWS region name (``REGION_PATTERN``); else ValueError naming it."""
    if not re.match(REGION_PATTERN, name):
        raise ValueError(f"{name!r} is not an AWS region name (like eu-west-1)")
    return name


ENV_HDFS_URL = "LOGPIPELINE_HDFS_URL"
ENV_WEBHDFS_URL = "LOGPIPELINE_WEBHDFS_URL"
ENV_ARCHIVE_ROOT = "LOGPIPELINE_ARCHIVE_ROOT"
ENV_CHECKPOINT_ROOT = "LOGPIPELINE_CHECKPOINT_ROOT"
ENV_QUERIES = "LOGPIPELINE_QUERIES"  # the streaming job's queries (all of them by default)
ENV_AGGREGATES_MODE = "LOGPIPELINE_AGGREGATES_MODE"  # the aggregates query's mode, one of AGGREGATES_MODES
# How the aggregates query runs: planned micro-batches each trigger, or Spark's real-time mode (long-running tasks
# that process each record as it arrives). The first is the default of a local job and ``logpipeline up``: on a quiet
# stream it costs a third of 1 s micro-batches and its aggregates are fresher. The operator's LogPipeline keeps
# micro-batches by default: real-time mode holds a task slot per long-running task, which its CRD checks.
AGGREGATES_MODES: tuple[str, ...] = ("realtime", "microbatch")
# Real-time mode: the shortest time between two updates of one window from one task, in ms; the events in between are
# combined before the stateful aggregation (0: each event aggregated, and its record written, alone).
ENV_REALTIME_EMIT_MS = "LOGPIPELINE_REALTIME_EMIT_MS"
REALTIME_EMIT_MS = 250
ENV_WINDOW = "LOGPIPELINE_WINDOW"
ENV_WATERMARK = "LOGPIPELINE_WATERMARK"
ENV_WATERMARK_SECONDS = "LOGPIPELINE_WATERMARK_SECONDS"
ENV_MAX_AHEAD_SECONDS = "LOGPIPELINE_MAX_AHEAD_SECONDS"
# Options of every Spark JVM the product starts (driver and executors). Spark's generated code for the events' parse
# has a method over HotSpot's 8,000-byte limit (``GeneratedIteratorForCodegenStage…generate_doConsume_0``, 10,465
# bytes), which the JIT otherwise never compiles: the parse of every record ran interpreted.
SPARK_JAVA_OPTIONS = "-XX:-DontCompileHugeMethods"
SPARK_JAVA_OPTION_KEYS: tuple[str, ...] = ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions")
# The route query's trigger: how often the raw archive and the dead-letter topic are written. A minute: each batch
# is planned, read and written at a fixed cost (at 200 events/s every 10 s it was over a third of the job's CPU), the
# archive gets fewer, larger files, and a minute's logs are all archived about a minute after it ends.
ENV_SIDE_TRIGGER = "LOGPIPELINE_SIDE_TRIGGER"
SIDE_TRIGGER_S = 60
SIDE_TRIGGER = f"{SIDE_TRIGGER_S} seconds"
ENV_SINK_METRICS_URL = "LOGPIPELINE_SINK_METRICS_URL"
ENV_JOB_METRICS_URL = "LOGPIPELINE_JOB_METRICS_URL"
ENV_DASHBOARD_METRICS_PORT = "LOGPIPELINE_DASHBOARD_METRICS_PORT"
ENV_DASHBOARD_REGIONS = "LOGPIPELINE_DASHBOARD_REGIONS"  # the regional pipelines the dashboard's global view merges
ENV_DASHBOARD_STALE_SECONDS = "LOGPIPELINE_DASHBOARD_STALE_SECONDS"  # a region older than this is stale
# sign-in: how long a session lasts, the file holding the key that signs session cookies (unset: a key kept in the
# accounts table), how often a worker re-reads a signed-in account (a removed user's session ends within it)
ENV_DASHBOARD_SESSION_SECONDS = "LOGPIPELINE_DASHBOARD_SESSION_SECONDS"
ENV_DASHBOARD_SESSION_KEY_FILE = "LOGPIPELINE_DASHBOARD_SESSION_KEY_FILE"
ENV_DASHBOARD_ACCOUNT_CHECK_SECONDS = "LOGPIPELINE_DASHBOARD_ACCOUNT_CHECK_SECONDS"
# the first user's password (``admin``, made at its first sign-in while the accounts table has no user)
ENV_DASHBOARD_ADMIN_PASSWORD_FILE = "LOGPIPELINE_DASHBOARD_ADMIN_PASSWORD_FILE"
# after five failed sign-ins in a row for a user name, the wait before the next attempt (doubling; default 30 s)
ENV_DASHBOARD_SIGN_IN_DELAY_SECONDS = "LOGPIPELINE_DASHBOARD_SIGN_IN_DELAY_SECONDS"
# sign-in through an OpenID provider: its issuer URL (unset: local accounts only), the client, the client secret's
# file, roles from groups ({"admin": [...], "editor": [...], "viewer": ["*"]}), the groups claim, the button's label
ENV_DASHBOARD_OIDC_ISSUER = "LOGPIPELINE_DASHBOARD_OIDC_ISSUER"
ENV_DASHBOARD_OIDC_CLIENT_ID = "LOGPIPELINE_DASHBOARD_OIDC_CLIENT_ID"
ENV_DASHBOARD_OIDC_CLIENT_SECRET_FILE = "LOGPIPELINE_DASHBOARD_OIDC_CLIENT_SECRET_FILE"
ENV_DASHBOARD_OIDC_ROLES = "LOGPIPELINE_DASHBOARD_OIDC_ROLES"
ENV_DASHBOARD_OIDC_GROUPS_CLAIM = "LOGPIPELINE_DASHBOARD_OIDC_GROUPS_CLAIM"
ENV_DASHBOARD_OIDC_LABEL = "LOGPIPELINE_DASHBOARD_OIDC_LABEL"
# live tail: how many tails one dashboard worker serves at once (its gunicorn threads grow by as many), and the
# lines per second one tail sends at most (the rest are counted as sampled out); where the raw archive is
ENV_DASHBOARD_LIVE_TAILS = "LOGPIPELINE_DASHBOARD_LIVE_TAILS"
ENV_DASHBOARD_LIVE_LINES_PER_SECOND = "LOGPIPELINE_DASHBOARD_LIVE_LINES_PER_SECOND"
DASHBOARD_LIVE_TAILS = 4
DASHBOARD_LIVE_LINES_PER_SECOND = 500
# Alerting: the SLO and receiver definition (a file), and the SNS endpoint for SMS (unset: AWS's own)
ENV_ALERTING_FILE = "LOGPIPELINE_ALERTING_FILE"
ENV_SNS_ENDPOINT = "LOGPIPELINE_SNS_ENDPOINT"
