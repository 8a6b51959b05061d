"""The streaming job: a SparkApplication (Kubeflow Spark operator) or a native spark-submit driver (pure).

Both modes run under their own ServiceAccount, bound to the pre-created ClusterRole that lets a driver manage its
executor pods (``constants.SPARK_DRIVER_CLUSTER_ROLE``), in the pipeline's namespace only. Every Spark
pod runs as the Spark image's own user under the restricted Pod Security profile; in submit mode the executors get
that from a pod template, and reach the driver at its pod IP (no Service: one that publishes only Ready pods would
not resolve while the driver starts).

In operator mode, Spark's own driver step (4.2 and 4.3) that creates a NetworkPolicy for the executors
(``NetworkPolicyFeatureStep``) is excluded: the Kubeflow Spark operator's chart does not let its controller (which runs
spark-submit) create NetworkPolicies, so the submission would fail with 403, and the pipeline's own policies
(:mod:`.network`) already let Spark pods talk only to each other.
"""

from __future__ import annotations

import json

from logpipeline import contracts
from logpipeline_operator import constants as c
from logpipeline_operator.builders import common, kafka
from logpipeline_operator.builders.common import Body, Manifest, child_name, metadata, spec_of

TEMPLATES = "/opt/logpipeline/pod-templates"
SPARK_NETWORK_POLICY_STEP = "org.apache.spark.deploy.k8s.features.NetworkPolicyFeatureStep"
EXECUTOR = "executor"

COMPONENT = "spark"
DRIVER_PORT = 7078
BLOCK_MANAGER_PORT = 7079
UI_PORT = 4040


def service_account_name(lp: Body) -> str:
    return child_name(lp, "spark")


def build_spark_service_account(lp: Body) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(lp, service_account_name(lp), COMPONENT),
    }


def build_spark_role_binding(lp: Body) -> Manifest:
    """The driver's rights over its executors, from the pre-created ClusterRole, in the pipeline's namespace only."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(lp, child_name(lp, "spark"), COMPONENT),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": c.SPARK_DRIVER_CLUSTER_ROLE,
        },
        "subjects": [
            {"kind": "ServiceAccount", "name": service_account_name(lp), "namespace": common.namespace_of(lp)}
        ],
    }


def _conf(lp: Body) -> dict[str, str]:
    spark = spec_of(lp)["spark"]
    archive = spec_of(lp)["archive"]
    conf = {
        "spark.sql.shuffle.partitions": str(max(2, spark["executor"]["instances"] * spark["executor"]["cores"] * 2)),
        "spark.kubernetes.executor.podNamePrefix": child_name(lp, "spark"),
        **dict.fromkeys(contracts.SPARK_JAVA_OPTION_KEYS, contracts.SPARK_JAVA_OPTIONS),
    }
    if spark["executor"].get("requestCores"):
        conf["spark.kubernetes.executor.request.cores"] = spark["executor"]["requestCores"]
        conf["spark.kubernetes.executor.limit.cores"] = str(spark["executor"]["cores"])
    if spark.get("checkpointRoot"):
        conf["spark.sql.streaming.checkpointLocation"] = spark["checkpointRoot"].rstrip("/") + "/checkpoints"
    elif archive["enabled"]:
        conf["spark.sql.streaming.checkpointLocation"] = (
            f"hdfs://{child_name(lp, 'hdfs-namenode')}:{contracts.NAMENODE_RPC_PORT_K8S}{archive['path']}/checkpoints"
        )
    return conf


def build_spark_application(lp: Body) -> Manifest:
    spec = spec_of(lp)
    spark = spec["spark"]
    pod_labels = common.labels(lp, COMPONENT)
    env_from = common.config_env(lp)
    return {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": metadata(lp, child_name(lp, "stream"), COMPONENT),
        "spec": {
            "type": "Python",
            "pythonVersion": "3",
            "mode": "cluster",
            "image": spark["image"],
            "imagePullPolicy": spec["imagePullPolicy"],
            "mainApplicationFile": c.SPARK_MAIN,
            "sparkVersion": spark["version"],
            "sparkConf": {**_conf(lp), "spark.kubernetes.driver.pod.excludedFeatureSteps": SPARK_NETWORK_POLICY_STEP},
            "restartPolicy": {
                "type": "Always",
                "onFailureRetryInterval": 10,
                "onSubmissionFailureRetryInterval": 20,
            },
            "driver": {
                "cores": spark["driver"]["cores"],
                **({"coreRequest": spark["driver"]["requestCores"]} if spark["driver"].get("requestCores") else {}),
                "memory": spark["driver"]["memory"],
                "serviceAccount": service_account_name(lp),
                "labels": pod_labels,
                "envFrom": env_from,
                # The job's Kafka options (and so its executors') carry the user and password the driver reads.
                "env": kafka.client_env(lp, COMPONENT),
                "securityContext": common.SPARK_CONTAINER_SECURITY_CONTEXT,
                "podSecurityContext": common.SPARK_POD_SECURITY_CONTEXT,
            },
            "executor": {
                "instances": spark["executor"]["instances"],
                "cores": spark["executor"]["cores"],
                **({"coreRequest": spark["executor"]["requestCores"]} if spark["executor"].get("requestCores") else {}),
                "memory": spark["executor"]["memory"],
                "labels": pod_labels,
                "envFrom": env_from,
                "securityContext": common.SPARK_CONTAINER_SECURITY_CONTEXT,
                "podSecurityContext": common.SPARK_POD_SECURITY_CONTEXT,
            },
        },
    }


def executor_pod_template(lp: Body) -> Manifest:
    """The pod Spark starts each executor from (submit mode): the restricted profile, no API token."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"labels": common.labels(lp, COMPONENT)},
        "spec": {
            "securityContext": common.SPARK_POD_SECURITY_CONTEXT,
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": EXECUTOR,
                    "securityContext": common.SPARK_CONTAINER_SECURITY_CONTEXT,
                    "envFrom": common.config_env(lp),  # the archive's user and addresses, as the driver has them
                }
            ],
        },
    }


def build_spark_pod_templates(lp: Body) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(lp, child_name(lp, "spark-templates"), COMPONENT),
        "data": {f"{EXECUTOR}.json": json.dumps(executor_pod_template(lp), sort_keys=True)},
    }


def submit_command(lp: Body) -> list[str]:
    spark = spec_of(lp)["spark"]
    conf = {
        **_conf(lp),
        "spark.kubernetes.namespace": common.namespace_of(lp),
        "spark.kubernetes.container.image": spark["image"],
        "spark.kubernetes.authenticate.driver.serviceAccountName": service_account_name(lp),
        "spark.kubernetes.driver.pod.name": "$(POD_NAME)",
        "spark.kubernetes.executor.podTemplateFile": f"{TEMPLATES}/{EXECUTOR}.json",
        "spark.kubernetes.executor.podTemplateContainerName": EXECUTOR,
        "spark.driver.host": "$(POD_IP)",
        "spark.driver.bindAddress": "0.0.0.0",
        # Spark 4.3 otherwise advertises the bind address to the executors as the driver's host (0.0.0.0 here: they
        # fail with "Failed to connect to /0.0.0.0:7078"); with false, they reach spark.driver.host, the pod IP.
        "spark.kubernetes.executor.useDriverPodIP": "false",
        "spark.driver.port": str(DRIVER_PORT),
        "spark.driver.blockManager.port": str(BLOCK_MANAGER_PORT),
        "spark.driver.memory": spark["driver"]["memory"],
        "spark.executor.instances": str(spark["executor"]["instances"]),
        "spark.executor.cores": str(spark["executor"]["cores"]),
        "spark.executor.memory": spark["executor"]["memory"],
    }
    cmd = [c.SPARK_SUBMIT, "--master", "k8s://https://kubernetes.default.svc:443", "--deploy-mode", "client"]
    for key, value in sorted(conf.items()):
        cmd += ["--conf", f"{key}={value}"]
    return [*cmd, c.SPARK_MAIN.removeprefix("local://"), "--metrics-port", str(contracts.SPARK_HTTP_PORT)]


def build_spark_submit_driver(lp: Body) -> Manifest:
    """client-mode spark-submit in a one-replica Deployment: the pod is the driver and asks for executors."""
    spec = spec_of(lp)
    spark = spec["spark"]
    memory_mb = int(spark["driver"]["memory"][:-1]) * (1024 if spark["driver"]["memory"].endswith("g") else 1)
    field = [("POD_NAME", "metadata.name"), ("POD_IP", "status.podIP")]
    driver = common.container(
        "driver",
        spark["image"],
        spec["imagePullPolicy"],
        submit_command(lp),
        ports={
            "driver": DRIVER_PORT,
            "blockmanager": BLOCK_MANAGER_PORT,
            "ui": UI_PORT,
            "metrics": contracts.SPARK_HTTP_PORT,
        },
        res=common.resources(
            str(spark["driver"].get("requestCores") or spark["driver"]["cores"]),
            f"{int(memory_mb * 1.4)}Mi",
            str(spark["driver"]["cores"]),
        ),
        readiness=common.http_probe("/readyz", "metrics"),  # the queries run and the executors registered
        liveness=common.tcp_probe("ui", 60),
        env=[
            *({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}} for name, path in field),
            *kafka.client_env(lp, COMPONENT),
        ],
        env_from=common.config_env(lp),
        mounts=[{"name": "pod-templates", "mountPath": TEMPLATES, "readOnly": True}],
    )
    volumes = [{"name": "pod-templates", "configMap": {"name": child_name(lp, "spark-templates")}}]
    template = common.pod_template(lp, COMPONENT, [driver], volumes, security=common.SPARK_POD_SECURITY_CONTEXT)
    template["spec"]["serviceAccountName"] = service_account_name(lp)
    template["spec"]["automountServiceAccountToken"] = True
    return common.deployment(lp, child_name(lp, "spark-driver"), COMPONENT, 1, template, recreate=True)


def build_spark(lp: Body) -> list[Manifest]:
    rbac = [build_spark_service_account(lp), build_spark_role_binding(lp)]
    if spec_of(lp)["spark"]["mode"] == "operator":
        return [*rbac, build_spark_application(lp)]
    return [*rbac, build_spark_pod_templates(lp), build_spark_submit_driver(lp)]
