"""The pipeline's ConfigMap: every address and name the services and the Spark job read (pure)."""

from __future__ import annotations

from logpipeline_operator.builders.common import Body, Manifest, child_name, metadata, name_of, spec_of

COMPONENT = "config"


def endpoints(lp: Body) -> dict[str, str]:
    spec = spec_of(lp)
    store = spec["metricsStore"]
    archive = spec["archive"]
    out = {
        "LOGPIPELINE_PIPELINE": name_of(lp),
        "LOGPIPELINE_KAFKA_BOOTSTRAP": spec["kafka"]["bootstrapServers"],
        "LOGPIPELINE_INPUT_TOPIC": spec["kafka"]["topics"]["input"]["name"],
        "LOGPIPELINE_AGGREGATES_TOPIC": spec["kafka"]["topics"]["aggregates"]["name"],
        "LOGPIPELINE_DLQ_TOPIC": spec["kafka"]["topics"]["deadLetter"]["name"],
        "LOGPIPELINE_TABLE": store["table"],
        "LOGPIPELINE_TTL_DAYS": str(store["ttlDays"]),
        "AWS_REGION": store["region"],
        "AWS_DEFAULT_REGION": store["region"],
        "LOGPIPELINE_WINDOW_SECONDS": str(spec["spark"]["windowSeconds"]),
        "LOGPIPELINE_WATERMARK_SECONDS": str(spec["spark"]["watermarkSeconds"]),
        "LOGPIPELINE_WINDOW": f"{spec['spark']['windowSeconds']} seconds",
        "LOGPIPELINE_WATERMARK": f"{spec['spark']['watermarkSeconds']} seconds",
    }
    # An empty endpoint means AWS DynamoDB (region and keys from the environment).
    out["LOGPIPELINE_DYNAMODB_ENDPOINT"] = (
        f"http://{child_name(lp, 'dynamodb')}:8000" if store["engine"] == "dynamodb-local" else ""
    )
    if archive["enabled"]:
        out["LOGPIPELINE_HDFS_URL"] = f"hdfs://{child_name(lp, 'hdfs-namenode')}:8020"
        out["LOGPIPELINE_WEBHDFS_URL"] = f"http://{child_name(lp, 'hdfs-namenode')}:9870"
        out["LOGPIPELINE_ARCHIVE_PATH"] = archive["path"]
        # The job archives under <root>/<pipeline>/{raw,agg,checkpoints}.
        out["LOGPIPELINE_ARCHIVE_ROOT"] = out["LOGPIPELINE_HDFS_URL"] + "/" + archive["path"].strip("/")
    return out


def build_config_map(lp: Body) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(lp, child_name(lp, "config"), COMPONENT),
        "data": endpoints(lp),
    }


def credentials_env(lp: Body) -> list[Manifest]:
    """AWS keys: from the referenced Secret for AWS, placeholders for DynamoDB Local (which ignores them)."""
    store = spec_of(lp)["metricsStore"]
    secret = store.get("credentialsSecret")
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
