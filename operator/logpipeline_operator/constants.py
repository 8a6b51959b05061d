"""Names the operator, its CRD, its Helm chart and its images agree on (pure)."""

from __future__ import annotations

from logpipeline import contracts

GROUP = "logpipeline.io"
VERSION = "v1alpha1"
PLURAL = "logpipelines"
KIND = "LogPipeline"
API_VERSION = f"{GROUP}/{VERSION}"
CRD_NAME = f"{PLURAL}.{GROUP}"
FIELD_MANAGER = "logpipeline-operator"

RELEASE = "0.1.0"
IMAGE_REGISTRY = "log-realtime-analysis"
SERVICES_IMAGE = f"{IMAGE_REGISTRY}/services:{RELEASE}"
SPARK_APP_IMAGE = f"{IMAGE_REGISTRY}/spark-app:{RELEASE}"
OPERATOR_IMAGE = f"{IMAGE_REGISTRY}/operator:{RELEASE}"

# Labels every child carries; the operator finds its children by instance + managed-by.
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_VERSION = "app.kubernetes.io/version"
APP_NAME = "logpipeline"
MANAGED_BY = "logpipeline-operator"

# Entry points inside the images (the services image installs the ``logpipeline`` command).
SPARK_MAIN = "local:///opt/logpipeline/spark-apps/logpipeline_spark/main.py"
SPARK_SUBMIT = "/opt/spark/bin/spark-submit"  # the official Spark images do not put /opt/spark/bin on PATH
# The pre-created ClusterRole (chart: templates/rbac.yaml) a pipeline's Spark driver is bound to in its namespace:
# what the driver does with its executors. The operator may only bind it (RBAC verb "bind"), never holds its rights.
SPARK_DRIVER_CLUSTER_ROLE = "logpipeline-spark-driver"
# The HDFS user the Spark jobs write the archive as (HADOOP_USER_NAME); the NameNode gives it the archive's path.
ARCHIVE_WRITER = "spark"
SPARK_UID = 185  # the official Spark images' user (spark): its passwd entry is what Hadoop's login needs
DASHBOARD_APP = "logpipeline.dashboard.app:server"
DASHBOARD_PORT = contracts.DASHBOARD_PORT
