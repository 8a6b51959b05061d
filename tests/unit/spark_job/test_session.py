"""The Spark session's Hadoop settings as HDFS's own client reads them (``DfsClientConf``)."""

from __future__ import annotations

from pyspark.sql import SparkSession

from logpipeline_spark import session


def _patience_ms(first_ms: int, retries: int, max_ms: int) -> int:
    """How long HDFS's client waits in all for a closed file to complete before it fails the close: ``retries``
    waits, each twice the one before, capped at ``max_ms`` (``DFSOutputStream.completeFile``)."""
    total, wait = 0, first_ms
    for _ in range(retries):
        total += wait
        wait = min(wait * 2, max_ms)
    return total


def test_hdfs_client_asks_again_soon_after_a_close_and_gives_up_no_sooner_than_hadoops_default(
    spark: SparkSession,
) -> None:
    jvm = spark.sparkContext._jvm
    conf = jvm.org.apache.hadoop.hdfs.client.impl.DfsClientConf(spark.sparkContext._jsc.hadoopConfiguration())
    first, retries = conf.getBlockWriteLocateFollowingInitialDelayMs(), conf.getNumBlockWriteLocateFollowingRetry()
    assert (first, retries) == (session.HDFS_CLOSE_FIRST_WAIT_MS, session.HDFS_CLOSE_RETRIES), "as the session set them"
    assert first <= 50, f"the first wait after a close is {first} ms: a checkpoint file would often take that long"
    keys = jvm.org.apache.hadoop.hdfs.client.HdfsClientConfigKeys.BlockWrite
    max_ms = conf.getBlockWriteLocateFollowingMaxDelayMs()
    default = _patience_ms(
        keys.LOCATEFOLLOWINGBLOCK_INITIAL_DELAY_MS_DEFAULT, keys.LOCATEFOLLOWINGBLOCK_RETRIES_DEFAULT, max_ms
    )
    ours = _patience_ms(first, retries, max_ms)
    assert ours >= default, f"a close gives up after {ours} ms, Hadoop's default after {default} ms"
