"""What the streaming job does once with the checkpoints and archive that an earlier version of it left.

Earlier versions ran three queries: ``aggregates``, ``dead_letters`` and ``raw_archive`` (a Parquet file sink with
its ``_spark_metadata`` log). The ``route`` query replaces the last two. On its first start:
- it starts where ``raw_archive`` (else ``dead_letters``) had committed, not at the topic's earliest offset, so no
  archived event is written twice;
- the file sink's log is retired: Spark reads only the files a ``_spark_metadata`` log lists, which would hide every
  file the route query adds. Files the log does not list (left by batches that failed) are moved to
  ``_uncommitted/`` first, so they stay invisible, and the log is renamed ``_spark_metadata.retired-<time>``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from urllib.parse import unquote, urlparse

from logpipeline_spark import transformations as tr
from logpipeline_spark.archive import Archive
from logpipeline_spark.options import JobOptions
from logpipeline_spark.route import committed_positions, last_commit, starting_offsets

log = logging.getLogger("logpipeline_spark.job")

EARLIER_QUERIES = ("raw_archive", "dead_letters")


def route_start(archive: Archive, opts: JobOptions, partitions: Callable[[], dict[str, list[int]]]) -> str | None:
    """``startingOffsets`` for a route query without a checkpoint, from an earlier version's; None otherwise."""
    if archive.exists(opts.checkpoint("route")):
        return None
    for query in EARLIER_QUERIES:
        ends = committed_positions(archive, opts.checkpoint(query))
        if ends is not None:
            start = starting_offsets(ends, partitions())
            log.warning(
                "route query takes over from an earlier query",
                extra={"fields": {"from": opts.checkpoint(query), "starting_offsets": start}},
            )
            return start
    return None


def checkpoint_format(archive: Archive, checkpoint: str) -> int | None:
    """The state checkpoint format of a query's checkpoint, from its newest commit file's version line (``v1`` or
    ``v2``, see ``queries.CHECKPOINT_FORMAT``); None before its first commit."""
    done = last_commit(archive, checkpoint)
    if done is None:
        return None
    head = (archive.read_text(f"{checkpoint}/commits/{done}") or "").split("\n", 1)[0].strip()
    return int(head[1:]) if re.fullmatch(r"v[0-9]+", head) else None


def checkpoint_dedup(archive: Archive, checkpoint: str) -> str | None:
    """The de-dup (``options.DEDUPS``) a query's checkpoint holds state for, from the operator metadata Spark writes
    for each stateful operator when it plans its first batch (``state/<id>/_metadata/metadata``, or the newest file
    of ``_metadata/v2``); a checkpoint with commits and no such metadata was written by Spark's de-dup; None for a
    new one."""
    for operator in archive.names(f"{checkpoint}/state"):
        meta = f"{checkpoint}/state/{operator}/_metadata"
        names = archive.names(meta)
        versions = [int(n) for n in (archive.names(f"{meta}/v2") if "v2" in names else []) if n.isdigit()]
        path = f"{meta}/v2/{max(versions)}" if versions else f"{meta}/metadata" if "metadata" in names else None
        body = (archive.read_text(path) or "").split("\n", 1)[-1] if path else ""
        name = json.loads(body).get("operatorInfo", {}).get("operatorName") if body.strip() else None
        if name in tr.DEDUP_OPERATORS:
            return tr.DEDUP_OPERATORS[name]
    return None if last_commit(archive, checkpoint) is None else "spark"


def _path(uri: str) -> str:
    """A URI's path alone: the log writes ``file:///x`` where the file system says ``file:/x``."""
    return unquote(urlparse(uri).path).rstrip("/")


def committed_files(archive: Archive, log_dir: str) -> set[str]:
    """The files a Spark file sink's ``_spark_metadata`` log lists (its newest compaction and the batches after it),
    as paths without scheme and authority."""
    entries = {name: name.split(".")[0] for name in archive.names(log_dir) if name.split(".")[0].isdigit()}
    compacted = max((int(b) for name, b in entries.items() if name.endswith(".compact")), default=-1)
    files: set[str] = set()
    for name, batch in entries.items():
        if int(batch) < compacted or (int(batch) == compacted and not name.endswith(".compact")):
            continue
        for line in (archive.read_text(f"{log_dir}/{name}") or "").splitlines()[1:]:
            entry = json.loads(line) if line.strip() else {}
            if entry.get("action") == "add":
                files.add(_path(str(entry["path"])))
    return files


def retire_file_sink_log(archive: Archive, raw: str) -> int:
    """Retire ``raw``'s file-sink log as the module says; returns the number of unlisted files moved aside."""
    log_dir = f"{raw}/_spark_metadata"
    if not archive.exists(log_dir):
        return 0
    listed = committed_files(archive, log_dir)
    root = _path(archive.qualified(raw))
    moved = 0
    for rel in archive.files(raw):
        if rel.startswith("_") or "/_" in rel or "/." in rel or rel.startswith("."):
            continue
        if f"{root}/{rel}" not in listed:
            archive.move(f"{raw}/{rel}", f"{raw}/_uncommitted/{rel}")
            moved += 1
    retired = f"{log_dir}.retired-{int(time.time())}"
    archive.move(log_dir, retired)
    log.warning(
        "raw archive's file-sink log retired",
        extra={"fields": {"log": retired, "unlisted_files_moved": moved, "to": f"{raw}/_uncommitted"}},
    )
    return moved
