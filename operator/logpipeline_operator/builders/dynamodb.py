"""DynamoDB Local: Deployment, Service and the PVC that keeps its data (pure). Nothing for engine ``aws``."""

from __future__ import annotations

from logpipeline import contracts
from logpipeline_operator.builders import common
from logpipeline_operator.builders.common import Body, Manifest, child_name, spec_of

COMPONENT = "dynamodb"
PORT = contracts.DYNAMODB_PORT


def build_dynamodb_pvc(lp: Body) -> Manifest:
    store = spec_of(lp)["metricsStore"]
    return common.pvc(lp, child_name(lp, "dynamodb-data"), COMPONENT, store["storage"], store.get("storageClassName"))


def build_dynamodb_deployment(lp: Body) -> Manifest:
    spec = spec_of(lp)
    store = spec["metricsStore"]
    command = ["java", "-jar", "DynamoDBLocal.jar", "-sharedDb", "-dbPath", "/data", "-port", str(PORT)]
    main = common.container(
        "dynamodb",
        store["image"],
        spec["imagePullPolicy"],
        command,
        ports={"http": PORT},
        res=common.resources("250m", "512Mi", "1", "1Gi"),
        readiness=common.tcp_probe("http"),
        liveness=common.tcp_probe("http", 20),
        mounts=[{"name": "data", "mountPath": "/data"}],
    )
    main["workingDir"] = "/home/dynamodblocal"
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": child_name(lp, "dynamodb-data")}}]
    template = common.pod_template(lp, COMPONENT, [main], volumes)
    return common.deployment(lp, child_name(lp, "dynamodb"), COMPONENT, 1, template, recreate=True)


def build_dynamodb_service(lp: Body) -> Manifest:
    return common.service(lp, child_name(lp, "dynamodb"), COMPONENT, {"http": (PORT, PORT)})


def build_dynamodb(lp: Body) -> list[Manifest]:
    if spec_of(lp)["metricsStore"]["engine"] != "dynamodb-local":
        return []
    return [build_dynamodb_pvc(lp), build_dynamodb_deployment(lp), build_dynamodb_service(lp)]
