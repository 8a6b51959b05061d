"""Local stand-ins for the Spark app image's two bases, which cannot be pulled here.

- ``MAVEN_IMAGE``: Debian with Maven and OpenJDK 17's JDK (Debian's packages).
- ``SPARK_IMAGE``: Debian with OpenJDK 17's runtime and Python 3.11, Spark itself from PyPI's ``pyspark`` at the
  pinned release (its package is a whole Spark home: ``bin/``, ``jars/`` with Spark on Kubernetes, ``python/lib``),
  moved to ``/opt/spark``, the ``spark`` user (uid 185) and an ``/opt/entrypoint.sh`` that starts what Spark on
  Kubernetes asks of the image: ``driver`` (spark-submit in client mode inside the pod) and ``executor``
  (``KubernetesExecutorBackend`` from the ``SPARK_*`` variables Spark sets on executor pods).
"""

from __future__ import annotations

from pathlib import Path

from logpipeline import versions
from support.node import images

MAVEN_BASE = "localhost/logpipeline-bases/maven:3-jdk17-bookworm"
RUNTIME_BASE = "localhost/logpipeline-bases/spark-runtime:jre17-py311-bookworm"
ENTRYPOINT = """#!/bin/bash
# Spark on Kubernetes starts its pods with "driver" or "executor" and SPARK_* variables; anything else runs as given.
set -euo pipefail
case "${1:-}" in
  driver)
    shift
    exec "$SPARK_HOME/bin/spark-submit" --deploy-mode client \\
      --conf "spark.driver.bindAddress=${SPARK_DRIVER_BIND_ADDRESS}" "$@"
    ;;
  executor)
    shift
    opts=()
    while IFS='=' read -r name value; do
      opts+=("$value")
    done < <(env | grep '^SPARK_JAVA_OPT_' | sort -t_ -k4 -n)
    exec java "${opts[@]}" -Xms"${SPARK_EXECUTOR_MEMORY}" -Xmx"${SPARK_EXECUTOR_MEMORY}" \\
      -cp "${SPARK_CLASSPATH:+$SPARK_CLASSPATH:}$SPARK_HOME/conf:$SPARK_HOME/jars/*" \\
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \\
      --driver-url "$SPARK_DRIVER_URL" --executor-id "$SPARK_EXECUTOR_ID" --cores "$SPARK_EXECUTOR_CORES" \\
      --app-id "$SPARK_APPLICATION_ID" --hostname "$SPARK_EXECUTOR_POD_IP" \\
      --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}" --podName "$SPARK_EXECUTOR_POD_NAME"
    ;;
  *)
    exec "$@"
    ;;
esac
"""


def maven_base(cache: Path, progress: images.Progress) -> str:
    return images.debian_base(
        cache, MAVEN_BASE, ("maven", "openjdk-17-jdk-headless", "ca-certificates"), ["--cmd", "mvn"], progress
    )


def spark_base(cache: Path, progress: images.Progress) -> str:
    """The Spark base: built once per Spark release and recipe."""
    packages = ("openjdk-17-jre-headless", "python3", "python3-venv", "ca-certificates", "procps")
    runtime = images.debian_base(cache, RUNTIME_BASE, packages, ["--cmd", "bash"], progress)
    site = "/tmp/pyspark/lib/python3.11/site-packages"
    containerfile = (
        f"FROM {runtime}\n"
        f"RUN python3 -m venv /tmp/pyspark && /tmp/pyspark/bin/pip install --no-cache-dir pyspark=={versions.SPARK_VERSION}"
        f" && mv {site}/pyspark /opt/spark && rm -rf /tmp/pyspark\n"
        "RUN groupadd --system --gid 185 spark"
        " && useradd --system --uid 185 --gid 185 --home-dir /opt/spark --shell /usr/sbin/nologin spark"
        " && mkdir -p /opt/spark/work-dir /opt/spark/conf && chown spark:spark /opt/spark/work-dir\n"
        "COPY entrypoint.sh /opt/entrypoint.sh\n"
        "RUN chmod 0755 /opt/entrypoint.sh\n"
        "ENV SPARK_HOME=/opt/spark\n"
        "WORKDIR /opt/spark/work-dir\n"
        "USER 185\n"
        'ENTRYPOINT ["/opt/entrypoint.sh"]\n'
    )
    tag = f"localhost/logpipeline-bases/spark:{versions.SPARK_VERSION}-{images.recipe_hash(containerfile, ENTRYPOINT)}"
    return images.build_context(cache, tag, containerfile, {"entrypoint.sh": ENTRYPOINT}, progress, network=True)


def build_args(cache: Path, progress: images.Progress) -> tuple[tuple[str, str], ...]:
    """The Spark app image's build arguments that point it at the local bases (built first if missing)."""
    return (("MAVEN_IMAGE", maven_base(cache, progress)), ("SPARK_IMAGE", spark_base(cache, progress)))
