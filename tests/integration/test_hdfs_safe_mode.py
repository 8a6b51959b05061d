"""The job waits while its NameNode is in safe mode (as just after the NameNode starts) instead of starting queries
whose first checkpoint write would fail, on the stack's real HDFS."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from logpipeline.config import Settings
from logpipeline_spark.archive import Archive
from logpipeline_spark.job import wait_out_of_safe_mode
from logpipeline_spark.session import build_session


def test_the_job_waits_for_hdfs_to_leave_safe_mode(stack: Settings, tmp_path: Path) -> None:
    spark = build_session("it-safe-mode", master="local[1]", settings=stack, with_kafka=False)
    try:
        archive = Archive(spark)
        root = f"{stack.hdfs_url}/"
        fs = spark._jvm.org.apache.hadoop.fs.Path(root).getFileSystem(archive.conf)  # type: ignore[union-attr]
        action = spark._jvm.org.apache.hadoop.fs.SafeModeAction  # type: ignore[union-attr]
        local = f"file://{tmp_path}"
        assert not archive.in_safe_mode(root) and not archive.in_safe_mode(local)
        fs.setSafeMode(action.ENTER)
        leave = threading.Timer(4.0, lambda: fs.setSafeMode(action.LEAVE))
        try:
            assert archive.in_safe_mode(root)
            assert not wait_out_of_safe_mode(archive, [local, root], threading.Event(), limit_s=1.0)  # gives up
            began = time.monotonic()
            leave.start()
            assert wait_out_of_safe_mode(archive, [local, root], threading.Event(), limit_s=60.0)
            assert time.monotonic() - began >= 3.5  # it waited for the NameNode
            assert not archive.in_safe_mode(root)
        finally:
            leave.cancel()
            fs.setSafeMode(action.LEAVE)
    finally:
        spark.stop()
