"""Builds the SparkSession used by the job and its tests.

The Kafka connector is resolved by Spark's own Ivy resolver, for exactly the
pinned Spark release, into the project's cache directory.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from logpipeline import config, contracts, versions
from logpipeline_spark import scratch

# How long HDFS's client waits before it asks the namenode again whether a file it closed is complete (its last
# block reported by the datanode), and how often. Hadoop's default first wait is 400 ms: the datanode's report often
# comes a moment after the client's first ask, so about every other checkpoint file closed on the stack's HDFS took
# 0.4 s more (a 100k-event micro-batch's offset and commit logs: 410-420 ms instead of 10-30 ms). The report comes
# within a few ms: a first wait of 5 ms (was 20) took a 100k-event micro-batch's two logs from about 58 ms to 34 ms
# (the throughput benchmark's count-only query). Waits double from the first; these give up after 20.5 s in all
# (Hadoop's default: 12.4 s), so a slow datanode fails no more closes.
HDFS_CLOSE_FIRST_WAIT_MS = 5
HDFS_CLOSE_RETRIES = 12
HDFS_CLIENT_CONF = {
    "spark.hadoop.dfs.client.block.write.locateFollowingBlock.initial.delay.ms": str(HDFS_CLOSE_FIRST_WAIT_MS),
    "spark.hadoop.dfs.client.block.write.locateFollowingBlock.retries": str(HDFS_CLOSE_RETRIES),
}


def build_session(
    app_name: str = "logpipeline",
    master: str | None = "local[2]",
    settings: config.Settings | None = None,
    with_kafka: bool = True,
    extra: dict[str, str] | None = None,
) -> SparkSession:
    settings = settings or config.load()
    builder = (
        SparkSession.builder.appName(app_name)
        .config("spark.jars.ivy", str(settings.cache / "ivy"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.hadoop.dfs.client.use.datanode.hostname", "true")
        .config("spark.driver.memory", "1g")
        # Off: with it, Spark 4.3's optimizer drops a column the parse's last projection needs when the events' fast
        # path, behind an inline barrier of its own, feeds the parse's barriers (INTERNAL_ERROR_ATTRIBUTE_NOT_FOUND
        # of an ``_e_`` column, ``tests/unit/spark_job/test_clean_events.py``). The job's inputs and archives are
        # flat.
        .config("spark.sql.optimizer.nestedSchemaPruning.enabled", "false")
    )
    for key, value in HDFS_CLIENT_CONF.items():
        builder = builder.config(key, value)
    for key in contracts.SPARK_JAVA_OPTION_KEYS:  # a local driver's JVM starts with them; executors under any master
        builder = builder.config(key, contracts.SPARK_JAVA_OPTIONS)
    own = scratch.local_dir(master)  # a local JVM's scratch files, which the next start removes if it was killed
    if own is not None:
        builder = builder.config("spark.local.dir", str(own))
        builder = builder.config(
            "spark.driver.extraJavaOptions", f"{contracts.SPARK_JAVA_OPTIONS} -Djava.io.tmpdir={own}"
        )
    if master:  # None: keep the master given by spark-submit
        builder = builder.master(master)
    if with_kafka:
        builder = builder.config("spark.jars.packages", versions.SPARK_KAFKA_PACKAGE)
    for key, value in (extra or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def executors_missing(spark: SparkSession) -> int:
    """Executors the job asked for (``spark.executor.instances`` on Kubernetes) that have not registered yet; 0 in
    local mode. A streaming job without its executors processes nothing, so its readiness waits for them."""
    sc = spark.sparkContext
    if not (sc.master or "").startswith("k8s://"):
        return 0
    wanted = int(spark.conf.get("spark.executor.instances", "0") or 0)
    registered = int(sc._jsc.sc().getExecutorMemoryStatus().size()) - 1  # the driver is listed too
    return max(0, wanted - registered)
