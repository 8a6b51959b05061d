"""The archive's file system for the Spark jobs: HDFS or local files through the Spark session's Hadoop client.

``publish`` moves one streaming batch's Parquet files from where Spark wrote them into the archive's partitions,
under names of that batch (``batch_file``), replacing those of an earlier attempt at the same batch: a batch
replayed after a crash leaves its rows in the archive once.
"""

from __future__ import annotations

import re
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

    def in_safe_mode(self, uri: str) -> bool:
        """Whether the HDFS NameNode of ``uri`` is in safe mode: read-only, as for a while after it starts, until its
        DataNodes have reported their blocks. Never for other file systems."""
        fs, _ = self._fs(uri)
        return str(fs.getScheme()) == "hdfs" and bool(fs.isInSafeMode())

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

    def names(self, uri: str) -> list[str]:
        """The names of the entries of directory ``uri`` (none when it does not exist)."""
        fs, path = self._fs(uri)
        if not fs.exists(path):
            return []
        return sorted(str(status.getPath().getName()) for status in fs.listStatus(path))

    def qualified(self, uri: str) -> str:
        """``uri`` with the file system's scheme and authority (as Spark's logs write paths), no trailing slash."""
        fs, path = self._fs(uri)
        return str(fs.makeQualified(path).toString()).rstrip("/")

    def files(self, uri: str) -> list[str]:
        """Every file under ``uri`` (recursively), as paths relative to it."""
        fs, path = self._fs(uri)
        if not fs.exists(path):
            return []
        root = str(fs.makeQualified(path).toString()).rstrip("/") + "/"
        found = fs.listFiles(path, True)
        out = []
        while found.hasNext():
            out.append(str(found.next().getPath().toString()).removeprefix(root))
        return sorted(out)

    def delete(self, uri: str, recursive: bool = True) -> bool:
        fs, path = self._fs(uri)
        return bool(fs.delete(path, recursive))

    def move(self, src: str, dst: str) -> None:
        """Rename ``src`` to ``dst``, creating ``dst``'s directory; raises when the file system refuses."""
        fs, path = self._fs(src)
        target = self.jvm.org.apache.hadoop.fs.Path(dst)
        fs.mkdirs(target.getParent())
        if not fs.rename(path, target):
            raise OSError(f"archive: cannot rename {src} to {dst}")

    def publish(self, staging: str, target: str, batch_id: int) -> int:
        """Move the Parquet files under ``staging`` (``date=…/hour=…/part-…``) into the same partitions under
        ``target`` as ``batch_file`` names, first deleting that batch's files of an earlier attempt in each partition
        it writes; then remove ``staging``. Returns the number of files published."""
        written = [f for f in self.files(staging) if _PART.match(f.rsplit("/", 1)[-1])]
        fs, _ = self._fs(target)
        for partition in sorted({f.rpartition("/")[0] for f in written}):
            stale = self.jvm.org.apache.hadoop.fs.Path(f"{target}/{partition}/{batch_prefix(batch_id)}*")
            for status in fs.globStatus(stale) or []:
                fs.delete(status.getPath(), False)
        for f in written:
            partition, _, name = f.rpartition("/")
            self.move(f"{staging}/{f}", f"{target}/{partition}/{batch_file(name, batch_id)}")
        self.delete(staging)
        return len(written)


# A file Spark's Parquet writer names: part-<task>-<job uuid>.c<counter><extension>
_PART = re.compile(r"^part-(?P<task>\d+)-[0-9a-fA-F-]+(?P<counter>\.c\d+)(?P<ext>\..*\.parquet)$")


def batch_prefix(batch_id: int) -> str:
    return f"batch-{batch_id:012d}-"


def batch_file(part_name: str, batch_id: int) -> str:
    """The archive's name of a file Spark's writer named ``part_name`` in batch ``batch_id``: the same for every
    attempt at the batch (the writer's job id left out), and sorted by batch."""
    m = _PART.match(part_name)
    if m is None:
        raise ValueError(f"archive: expected a Parquet part file name, got {part_name!r}")
    return f"{batch_prefix(batch_id)}part-{m['task']}{m['counter']}{m['ext']}"
