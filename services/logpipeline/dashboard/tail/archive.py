"""The logs of one minute, read back from the raw archive (``<root>/<pipeline>/raw/date=…/hour=…/`` and the
backfill's ``backfill/date=…/hour=…/``): a point clicked on a chart opens them.

The root is ``LOGPIPELINE_ARCHIVE_ROOT``: ``file://`` (the local archive) is read from disk, ``hdfs://`` through
WebHDFS (``LOGPIPELINE_WEBHDFS_URL``), with ranged reads, so only each file's footer and the row groups whose
``timestamp`` statistics overlap the minute are fetched. The tail's filter applies; at most ``limit`` events are
returned, oldest first, with the number that matched.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import requests

from logpipeline.dashboard.tail.filters import Filter, Line

MINUTE_MS = 60_000
LAST_MS = 253_402_300_800_000  # 10000-01-01: later minutes have no date to look under
PARTS = ("raw", "backfill")


class ArchiveError(RuntimeError):
    """The archive cannot be read; the message names where."""


@dataclass(frozen=True)
class Minute:
    start_ms: int
    lines: list[Line]
    matched: int  # events of the minute that match the filter (``lines`` holds the first ``limit``)
    files: int  # Parquet files looked at
    unreadable: list[str] = field(default_factory=list)  # files that could not be read, with why


def hour_dirs(pipeline: str, minute_ms: int) -> list[str]:
    """The partitions (relative to the root) that hold a minute's events."""
    when = datetime.fromtimestamp(minute_ms / 1000, UTC)
    return [f"{pipeline}/{part}/date={when:%Y-%m-%d}/hour={when:%H}" for part in PARTS]


class WebHdfsFile(io.RawIOBase):
    """A seekable read-only file of WebHDFS, one ranged ``OPEN`` per read (pyarrow reads footers and row groups)."""

    def __init__(self, http: requests.Session, url: str, size: int, user: str) -> None:
        self.http, self.url, self.size, self.user, self.pos = http, url, size, user, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def readinto(self, buffer: Any) -> int:
        length = min(len(buffer), self.size - self.pos)
        if length <= 0:
            return 0
        params: dict[str, str | int] = {"op": "OPEN", "offset": self.pos, "length": length, "user.name": self.user}
        got = self.http.get(self.url, params=params, timeout=30)
        if got.status_code != 200:
            raise ArchiveError(f"WebHDFS OPEN {self.url}: HTTP {got.status_code} {got.text[:200]}")
        data = got.content
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)


def _hdfs_files(webhdfs: str, directory: str, user: str, http: requests.Session) -> Iterator[pa.NativeFile | Any]:
    url = f"{webhdfs.rstrip('/')}/webhdfs/v1{directory}"
    listed = http.get(url, params={"op": "LISTSTATUS", "user.name": user}, timeout=30)
    if listed.status_code == 404:
        return
    if listed.status_code != 200:
        raise ArchiveError(f"WebHDFS LISTSTATUS {directory}: HTTP {listed.status_code} {listed.text[:200]}")
    for status in listed.json()["FileStatuses"]["FileStatus"]:
        name = status["pathSuffix"]
        if status["type"] == "FILE" and name.endswith(".parquet") and not name.startswith(("_", ".")):
            yield io.BufferedReader(WebHdfsFile(http, f"{url}/{name}", int(status["length"]), user), 1 << 20)


def _local_files(directory: str) -> Iterator[str]:
    if not os.path.isdir(directory):
        return
    for name in sorted(os.listdir(directory)):
        if name.endswith(".parquet") and not name.startswith(("_", ".")):
            yield os.path.join(directory, name)


def files(root: str, pipeline: str, minute_ms: int, webhdfs: str | None, http: requests.Session) -> Iterator[Any]:
    where = urlsplit(root)
    for relative in hour_dirs(pipeline, minute_ms):
        if where.scheme == "file":
            yield from _local_files(os.path.join(where.path, relative))
        elif where.scheme == "hdfs":
            if not webhdfs:
                raise ArchiveError(f"the archive is {root}: set LOGPIPELINE_WEBHDFS_URL to read it")
            user = os.environ.get("HADOOP_USER_NAME") or "logpipeline"
            yield from _hdfs_files(webhdfs, f"{where.path.rstrip('/')}/{relative}", user, http)
        else:
            raise ArchiveError(f"LOGPIPELINE_ARCHIVE_ROOT: expected a file:// or hdfs:// URL, got {root!r}")


def _overlaps(meta: pq.FileMetaData, group: int, column: int, lo: int, hi: int) -> bool:
    stats = meta.row_group(group).column(column).statistics
    if stats is None or not stats.has_min_max:
        return True
    return bool(stats.min < hi and stats.max >= lo)


def _line(row: dict[str, Any]) -> Line:
    event = {k: v for k, v in row.items() if v is not None}
    text = json.dumps(event, separators=(",", ":"), default=str)
    return Line(row["timestamp"], row["api"], row["log_level"], row["status_code"], text)


def read_minute(root: str, pipeline: str, minute_ms: int, flt: Filter, limit: int = 1_000,
                webhdfs: str | None = None) -> Minute:  # fmt: skip
    """The archived events of the minute that starts at (or holds) ``minute_ms``."""
    lo = minute_ms - minute_ms % MINUTE_MS
    hi = lo + MINUTE_MS
    found: list[Line] = []
    unreadable: list[str] = []
    seen = 0
    with requests.Session() as http:
        for source in files(root, pipeline, lo, webhdfs, http):
            seen += 1
            try:
                found += _matching(source, lo, hi, flt)
            except (OSError, ArchiveError, pa.ArrowException) as exc:  # one file (rewritten meanwhile, damaged)
                unreadable.append(f"{getattr(source, 'name', source)}: {exc}")
    found.sort(key=lambda line: (line.at or 0, line.text))
    return Minute(lo, found[:limit], len(found), seen, unreadable)


def _matching(source: Any, lo: int, hi: int, flt: Filter) -> list[Line]:
    parquet = pq.ParquetFile(source)
    names = parquet.schema_arrow.names
    if "timestamp" not in names:
        return []
    column = names.index("timestamp")  # the events' schema is flat: the Arrow field is the Parquet column
    groups = [g for g in range(parquet.num_row_groups) if _overlaps(parquet.metadata, g, column, lo, hi)]
    if not groups:
        return []
    table = parquet.read_row_groups(groups)
    times = table.column("timestamp")
    inside = table.filter(pc.and_(pc.greater_equal(times, lo), pc.less(times, hi)))
    return [line for line in map(_line, inside.to_pylist()) if flt.matches(line)]
