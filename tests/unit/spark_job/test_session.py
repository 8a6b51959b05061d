"""The Spark session's Hadoop settings as HDFS's own client reads them (``DfsClientConf``), and where a local JVM
writes its scratch files (``scratch``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from logpipeline import contracts
from logpipeline_spark import scratch, session


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


def test_a_local_jvm_writes_its_scratch_files_in_this_processs_directory(spark: SparkSession) -> None:
    own = scratch.default_root() / str(os.getpid())
    jvm = spark.sparkContext._jvm
    assert jvm.java.lang.System.getProperty("java.io.tmpdir") == str(own)
    java_options = spark.sparkContext.getConf().get("spark.driver.extraJavaOptions")
    assert f"{contracts.SPARK_JAVA_OPTIONS} -Djava.io.tmpdir={own}" in java_options, "the product's options kept"
    assert spark.sparkContext.getConf().get("spark.local.dir") == str(own)
    assert any(name.startswith("blockmgr-") for name in os.listdir(own)), "Spark's block manager is under it"


def _stopped_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_reap_removes_the_directories_of_stopped_processes_only(tmp_path: Path) -> None:
    stopped = tmp_path / str(_stopped_pid())
    (stopped / "blockmgr-1").mkdir(parents=True)
    (stopped / "blockmgr-1" / "shuffle_0.data").write_bytes(b"x" * 100)
    running = tmp_path / str(os.getppid())  # this process's parent runs
    running.mkdir()
    other = tmp_path / "notes"  # not a process's
    other.mkdir()
    assert scratch.reap(tmp_path) == [stopped]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([running.name, "notes"])


def test_directory_is_this_processs_own_after_a_reap(tmp_path: Path) -> None:
    stopped = tmp_path / str(_stopped_pid())
    stopped.mkdir()
    own = scratch.directory(tmp_path)
    assert own == tmp_path / str(os.getpid()) and own.is_dir()
    assert not stopped.exists()


@pytest.mark.parametrize("master", [None, "k8s://https://kubernetes.default.svc:443", "yarn"])
def test_only_a_local_jvm_is_given_a_scratch_directory(master: str | None) -> None:
    assert scratch.local_dir(master) is None


def test_spark_local_dirs_chosen_by_a_user_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(scratch.SPARK_LOCAL_DIRS, raising=False)
    assert scratch.local_dir("local[2]") == scratch.default_root() / str(os.getpid())
    monkeypatch.setenv(scratch.SPARK_LOCAL_DIRS, "/data/spark")
    assert scratch.local_dir("local[2]") is None


def test_a_process_that_stops_normally_leaves_no_directory(tmp_path: Path) -> None:
    code = f"from pathlib import Path; from logpipeline_spark import scratch; print(scratch.directory(Path({str(tmp_path)!r})))"
    own = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert Path(own).parent == tmp_path and not Path(own).exists()
    assert list(tmp_path.iterdir()) == []
