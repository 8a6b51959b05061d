"""What tests and benchmarks make on the local stack, and its removal.

A developer's stack (``logpipeline stack up``) serves test session after test session; every topic, consumer group,
HDFS directory and table a session names with one of its suffixes (``suffix``) is deleted when the session ends
(``remove``), and a benchmark deletes what it made likewise. What was there before, or carries no suffix of the
session, stays.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import hdfs

from logpipeline import config
from logpipeline.kafka import topics
from logpipeline.metrics import store

_SUFFIXES: list[str] = []
TIMEOUT = 30.0


def suffix() -> str:
    """A short unique suffix for topic, group, table and path names, remembered for ``remove_session_leftovers``."""
    value = uuid.uuid4().hex[:10]
    _SUFFIXES.append(value)
    return value


def carries_session_suffix(name: str) -> bool:
    """Whether ``name`` was made with a suffix this session handed out."""
    return any(s in name for s in _SUFFIXES)


@dataclass(frozen=True)
class Found:
    """Names on the stack: topics, consumer groups, HDFS directories (absolute paths) and DynamoDB tables."""

    topics: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    dirs: frozenset[str] = frozenset()
    tables: frozenset[str] = frozenset()

    def __sub__(self, other: Found) -> Found:
        return Found(
            self.topics - other.topics, self.groups - other.groups, self.dirs - other.dirs, self.tables - other.tables
        )

    def summary(self) -> str:
        return (
            f"{len(self.topics)} topics, {len(self.groups)} consumer groups, {len(self.dirs)} HDFS directories "
            f"and {len(self.tables)} tables"
        )


def _hdfs(settings: config.Settings) -> hdfs.InsecureClient:
    return hdfs.InsecureClient(settings.webhdfs_url, user=os.environ.get("USER", "root"), timeout=TIMEOUT)


def _dirs(client: hdfs.InsecureClient, path: str) -> list[str]:
    prefix = path.rstrip("/")
    return [f"{prefix}/{name}" for name, status in client.list(path, status=True) if status["type"] == "DIRECTORY"]


def _tables(settings: config.Settings) -> set[str]:
    pages = store.client(settings.dynamodb_endpoint).get_paginator("list_tables").paginate()
    return {name for page in pages for name in page["TableNames"]}


def find(settings: config.Settings, match: Callable[[str], bool]) -> Found:
    """What the stack holds whose name ``match`` accepts; HDFS directories at the top two levels, by their absolute
    path (a pipeline's ``/<pipeline>``, a test's ``/it/<suffix>``)."""
    admin = topics.admin_client(settings.kafka_bootstrap)
    listing = admin.list_consumer_groups(request_timeout=TIMEOUT).result(TIMEOUT)
    client = _hdfs(settings)
    top = _dirs(client, "/")
    dirs = [*top, *(child for parent in top for child in _dirs(client, parent))]
    return Found(
        topics=frozenset(t for t in admin.list_topics(timeout=TIMEOUT).topics if match(t)),
        groups=frozenset(g.group_id for g in listing.valid if match(g.group_id)),
        dirs=frozenset(d for d in dirs if match(d)),
        tables=frozenset(t for t in _tables(settings) if match(t)),
    )


def _outermost(dirs: Iterable[str]) -> list[str]:
    """The directories not under another one of them (a recursive delete takes the rest)."""
    chosen = sorted(dirs)
    return [d for d in chosen if not any(d.startswith(f"{other}/") for other in chosen)]


def remove(settings: config.Settings, found: Found) -> list[str]:
    """Delete what ``found`` names; what could not be deleted is returned, one line each (nothing is raised: a
    consumer group with a member left, say, must not fail the session that made it)."""
    failures: list[str] = []
    admin = topics.admin_client(settings.kafka_bootstrap)
    if found.topics:
        for topic, future in admin.delete_topics(sorted(found.topics), operation_timeout=TIMEOUT).items():
            _collect(failures, f"topic {topic}", future.result, TIMEOUT)
    if found.groups:
        for group, future in admin.delete_consumer_groups(sorted(found.groups), request_timeout=TIMEOUT).items():
            _collect(failures, f"consumer group {group}", future.result, TIMEOUT)
    client = _hdfs(settings)
    for path in _outermost(found.dirs):
        _collect(failures, f"HDFS directory {path}", client.delete, path, recursive=True)
    ddb = store.client(settings.dynamodb_endpoint)
    for table in sorted(found.tables):
        _collect(failures, f"table {table}", lambda name: ddb.delete_table(TableName=name), table)
    return failures


def _collect(failures: list[str], what: str, call: Callable[..., object], *args: object, **kwargs: object) -> None:
    try:
        call(*args, **kwargs)
    except Exception as exc:  # every kind of failure is reported the same way: by name, with its error
        failures.append(f"{what}: {exc}")


def remove_session_leftovers(settings: config.Settings) -> None:
    """At the end of a session on a stack that stays up: delete what the session's suffixes name; a warning names
    what could not be deleted."""
    if not _SUFFIXES:
        return
    try:
        found = find(settings, carries_session_suffix)
    except Exception as exc:  # a stack that went down during the session: its leftovers cannot be listed
        warnings.warn(f"could not list what this test session made on the stack: {exc}", stacklevel=1)
        return
    failures = remove(settings, found)
    print(f"\nremoved {found.summary()} this test session made on the stack", flush=True)
    if failures:
        warnings.warn("could not remove: " + "; ".join(failures), stacklevel=1)
