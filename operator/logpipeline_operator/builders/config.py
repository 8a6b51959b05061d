"""The pipeline's ConfigMap: every address and name the services and the Spark job read (pure)."""

from __future__ import annotations

from logpipeline import contracts
from logpipeline_operator import constants as c
from logpipeline_operator.builders import common
from logpipeline_operator.builders.common import Body, Manifest, child_name, metadata, name_of, spec_of

COMPONENT = "config"


def endpoints(lp: Body) -> dict[str, str]:
    spec = spec_of(lp)
    store = spec["metricsStore"]
    archive = spec["archive"]
    out = {
        contracts.ENV_PIPELINE: name_of(lp),
        contracts.ENV_KAFKA_BOOTSTRAP: spec["kafka"]["bootstrapServers"],
        contracts.ENV_INPUT_TOPIC: spec["kafka"]["topics"][contracts.INPUT]["name"],
        contracts.ENV_AGGREGATES_TOPIC: spec["kafka"]["topics"][contracts.AGGREGATES]["name"],
        contracts.ENV_DLQ_TOPIC: spec["kafka"]["topics"][contracts.DEAD_LETTER]["name"],
        contracts.ENV_ANOMALIES_TOPIC: spec["kafka"]["topics"][contracts.ANOMALIES]["name"],
        contracts.ENV_TABLE: store["table"],
        contracts.ENV_TTL_DAYS: str(store["ttlDays"]),
        "AWS_REGION": store["region"],
        "AWS_DEFAULT_REGION": store["region"],
        # the dashboard's settle time follows the job's watermark
        contracts.ENV_WATERMARK_SECONDS: str(spec["spark"]["watermarkSeconds"]),
        contracts.ENV_WINDOW: f"{spec['spark']['windowSeconds']} seconds",
        contracts.ENV_WATERMARK: f"{spec['spark']['watermarkSeconds']} seconds",
        contracts.ENV_AGGREGATES_MODE: spec["spark"]["aggregatesMode"],
        contracts.ENV_REALTIME_EMIT_MS: str(spec["spark"]["realtimeEmitMs"]),
    }
    # An empty endpoint means AWS DynamoDB (region and keys from the environment).
    out[contracts.ENV_DYNAMODB_ENDPOINT] = (
        f"http://{child_name(lp, 'dynamodb')}:{contracts.DYNAMODB_PORT}"
        if store["engine"] == "dynamodb-local"
        else str(store.get("endpoint") or "")
    )
    if spec["kafka"]["authentication"] == "scram-sha-512":  # each client's user and password: builders.kafka
        out[contracts.ENV_KAFKA_SECURITY_PROTOCOL] = "SASL_PLAINTEXT"
        out[contracts.ENV_KAFKA_SASL_MECHANISM] = contracts.SCRAM
    if spec.get("region"):  # a regional pipeline: every component writes and reads its own region's items
        out[contracts.ENV_REGION] = spec["region"]
    checkpoints = spec["spark"].get("checkpointRoot")
    if checkpoints:
        out[contracts.ENV_CHECKPOINT_ROOT] = checkpoints
    if not archive["enabled"]:  # nothing to archive to: the job runs its other queries
        out[contracts.ENV_QUERIES] = "aggregates,dead_letters"
    if archive["enabled"]:
        namenode = child_name(lp, "hdfs-namenode")
        out[contracts.ENV_HDFS_URL] = f"hdfs://{namenode}:{contracts.NAMENODE_RPC_PORT_K8S}"
        out[contracts.ENV_WEBHDFS_URL] = f"http://{namenode}:{contracts.NAMENODE_HTTP_PORT}"
        # The job archives under <root>/<pipeline>/{raw,agg,checkpoints}.
        out["HADOOP_USER_NAME"] = c.ARCHIVE_WRITER  # whom the archive's path belongs to (HDFS permissions are on)
        out[contracts.ENV_ARCHIVE_ROOT] = out[contracts.ENV_HDFS_URL] + "/" + archive["path"].strip("/")
    return out


def build_config_map(lp: Body) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(lp, child_name(lp, "config"), COMPONENT),
        "data": endpoints(lp),
    }


def build_identity_config_map(lp: Body) -> Manifest:
    """The passwd and group files of the pods that log in to Hadoop (``common.identity_files``)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(lp, child_name(lp, common.IDENTITY), COMPONENT),
        "data": common.identity_files(),
    }


def credentials_env(lp: Body, read_only: bool = False) -> list[Manifest]:
    """AWS keys: from the referenced Secret for AWS (the read-only one for the dashboard), placeholders for DynamoDB
    Local (which ignores them)."""
    store = spec_of(lp)["metricsStore"]
    secret = store.get("readOnlyCredentialsSecret" if read_only else "credentialsSecret")
    if store["engine"] == "aws" and secret:
        return [
            {
                "name": env,
                "valueFrom": {"secretKeyRef": {"name": secret["name"], "key": secret[key]}},
            }
            for env, key in (
                ("AWS_ACCESS_KEY_ID", "accessKeyIdKey"),
                ("AWS_SECRET_ACCESS_KEY", "secretAccessKeyKey"),
            )
        ]
    return [{"name": "AWS_ACCESS_KEY_ID", "value": "local"}, {"name": "AWS_SECRET_ACCESS_KEY", "value": "local"}]
