"""Scratch space of a local-mode Spark JVM: one directory per process, and the leftovers of killed ones removed.

A local-mode JVM writes its shuffle blocks, its RocksDB state stores' working copies (as big as the de-dup state)
and the native libraries it unpacks (RocksDB's 14 MB, LZ4's, Snappy's) under the temporary directory, and removes
them when it exits normally. A JVM that is killed (SIGKILL, the OOM killer, a machine's crash) leaves them there;
each start of a job that crashes again leaves more, until the disk is full. Each process's JVM therefore writes into
``<temp>/logpipeline-spark/<pid>``, and a process that starts one removes the directories of processes that no longer
run. Under spark-submit on Kubernetes the pod's own directories serve, and go with the pod.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger("logpipeline_spark.scratch")

ROOT_NAME = "logpipeline-spark"
# Set by a user who chose Spark's scratch directories: they are kept as they are.
SPARK_LOCAL_DIRS = "SPARK_LOCAL_DIRS"


def default_root() -> Path:
    return Path(tempfile.gettempdir()) / ROOT_NAME


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # gone meanwhile
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def reap(root: Path) -> list[Path]:
    """Removes the scratch directories under ``root`` of processes that no longer run; returns them. A directory
    whose name is not a process ID is not the job's and stays."""
    removed = []
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if not entry.name.isdigit() or _running(int(entry.name)):  # a running process, this one included
            continue
        size = _size(entry)
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
        log.info("removed a stopped job's scratch directory", extra={"fields": {"path": str(entry), "bytes": size}})
    return removed


def directory(root: Path | None = None) -> Path:
    """This process's scratch directory (created), after removing those of stopped processes (``reap``)."""
    root = root or default_root()
    root.mkdir(parents=True, exist_ok=True)
    reap(root)
    own = root / str(os.getpid())
    if not own.is_dir():
        own.mkdir()
        atexit.register(_remove_if_empty, own)  # a JVM that stopped normally removed what it wrote
    return own


def _remove_if_empty(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()


def local_dir(master: str | None) -> Path | None:
    """The directory for a local-mode JVM's scratch files (``directory``): its ``spark.local.dir`` and its
    ``java.io.tmpdir``. None for another master, or when ``SPARK_LOCAL_DIRS`` chooses them."""
    if not master or not master.startswith("local") or os.environ.get(SPARK_LOCAL_DIRS):
        return None
    return directory()
