"""The archive's file system for the batch jobs: HDFS or local files through the Spark session's Hadoop client."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyspark.sql import SparkSession


class Archive:
    """The Hadoop file system of the archive root, through the session's JVM (HDFS or local files alike)."""

    def __init__(self, spark: SparkSession) -> None:
        context = spark.sparkContext
        assert context._jvm is not None and context._jsc is not None, "a local or driver session"
        self.jvm: Any = context._jvm
        self.conf = context._jsc.hadoopConfiguration()

    def _fs(self, uri: str) -> tuple[Any, Any]:
        path = self.jvm.org.apache.hadoop.fs.Path(uri)
        return path.getFileSystem(self.conf), path

    def exists(self, uri: str) -> bool:
        fs, path = self._fs(uri)
        return bool(fs.exists(path))

    def hours(self, uri: str) -> dict[int, int]:
        """``date=…/hour=…`` partitions under ``uri``: hour start (epoch ms) -> modification time (epoch ms)."""
        fs, path = self._fs(uri)
        if not fs.exists(path):
            return {}
        out: dict[int, int] = {}
        for day in fs.listStatus(path):
            name = day.getPath().getName()
            if not (day.isDirectory() and name.startswith("date=")):
                continue
            for hour in fs.listStatus(day.getPath()):
                part = hour.getPath().getName()
                if hour.isDirectory() and part.startswith("hour="):
                    start = int(datetime.fromisoformat(f"{name[5:]}T{part[5:]}:00:00+00:00").timestamp() * 1000)
                    out[start] = max(out.get(start, 0), int(hour.getModificationTime()))
        return out

    def read_text(self, uri: str) -> str | None:
        fs, path = self._fs(uri)
        if not fs.exists(path):
            return None
        stream = fs.open(path)
        try:
            return str(self.jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
        finally:
            stream.close()

    def write_text(self, uri: str, text: str) -> None:
        """Replace ``uri`` by writing a sibling and renaming it over, so a reader never sees half a file."""
        fs, path = self._fs(uri)
        tmp = self.jvm.org.apache.hadoop.fs.Path(uri + ".tmp")
        out = fs.create(tmp, True)
        try:
            out.write(bytearray(text.encode()))
        finally:
            out.close()
        fs.delete(path, False)
        fs.rename(tmp, path)

    def rename(self, src: str, dst: str) -> bool:
        fs, path = self._fs(src)
        return bool(fs.rename(path, self.jvm.org.apache.hadoop.fs.Path(dst)))
