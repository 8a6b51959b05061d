"""DynamoDB I/O of the metrics store: table creation, conditional and bulk writers, the hour revisions (reads are
``query.Reader``'s).

The key scheme is described in ``logpipeline.metrics.layout``. Errors are classified for the caller:
``Denied`` (credentials or permissions refused: stop, commit nothing), ``Unavailable`` (throttling, server
unreachable: retry with backoff), ``TableMissing`` (the table is gone: re-create and rebuild), and per-item
permanent failures returned in ``WriteResult.failed``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from logpipeline.metrics import backoff, digest, layout, replicas, revisions
from logpipeline.metrics.records import Aggregate

BATCH_WRITE_MAX = 25
TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
        "LimitExceededException",
    }
)


# The service refused who we are or what we may do: retrying cannot help, and dead-lettering the record would
# drain the topic into the dead-letter topic while the sink looks healthy. The sink stops instead.
DENIED_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "IncompleteSignatureException",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
        "NotAuthorized",
        "UnauthorizedOperation",
        "RequestExpired",
    }
)


class Denied(Exception):
    """The store refused the credentials or the permission; nothing this process does will make the write pass."""


class Unavailable(Exception):
    """The store is throttling or unreachable; the same write may succeed later."""


class TableMissing(Exception):
    """The table does not exist (deleted, or the server restarted without its data)."""


def client(endpoint: str | None = None, region: str | None = None, attempts: int = 3, timeout: float = 10.0) -> Any:
    """A DynamoDB client; with an endpoint (local server) and no credentials in the environment, dummy ones.

    Each client has its own session, so it takes the credentials the environment holds now: boto3's default session
    keeps the first ones it resolved for the life of the process."""
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    extra: dict[str, str] = {}
    if endpoint and not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
        extra = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    cfg = Config(
        retries={"max_attempts": attempts, "mode": "standard"},
        connect_timeout=min(timeout, 3.0),
        read_timeout=timeout,
        max_pool_connections=16,
    )
    return boto3.session.Session().client("dynamodb", endpoint_url=endpoint, region_name=region, config=cfg, **extra)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def _denied_text(exc: ClientError) -> str:
    """The error code and message of a refusal whose body botocore could not parse (an XML body on a JSON API)."""
    body = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    found = re.search(r"<Code>([^<]+)</Code>.*?<Message>([^<]*)</Message>", body, re.S)
    return f"{found.group(1)}: {found.group(2)}" if found else body[:200]


def classify(exc: Exception) -> Exception:
    """Map a boto error to ``Denied`` / ``Unavailable`` / ``TableMissing``, or return it unchanged (permanent)."""
    if isinstance(exc, ClientError):
        code = _code(exc)
        if code == "ResourceNotFoundException":
            return TableMissing(str(exc))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in DENIED_CODES or status in (401, 403):
            return Denied(f"{code}: {_message(exc)}" if code != str(status) else f"HTTP {status}: {_denied_text(exc)}")
        if code in TRANSIENT_CODES or status >= 500:
            return Unavailable(f"{code}: {exc}")
        return cast(Exception, exc)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return Denied(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, BotoCoreError | ConnectionError | TimeoutError):
        return Unavailable(f"{type(exc).__name__}: {exc}")
    return exc


def describe(ddb: Any, table: str) -> dict[str, Any] | None:
    try:
        desc: dict[str, Any] = ddb.describe_table(TableName=table)["Table"]
        return desc
    except ClientError as exc:
        if _code(exc) == "ResourceNotFoundException":
            return None
        raise


def _wait_active(ddb: Any, table: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = describe(ddb, table)
        indexes = (desc or {}).get("GlobalSecondaryIndexes", [])
        if (
            desc
            and desc["TableStatus"] == "ACTIVE"
            and all(i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes)
        ):
            return
        time.sleep(0.5)
    raise TimeoutError(f"table {table} not ACTIVE after {timeout:.0f}s")


def _ensure(ddb: Any, name: str, definition: dict[str, Any], index: bool) -> list[str]:
    changes: list[str] = []
    desc = describe(ddb, name)
    if desc is None:
        try:
            ddb.create_table(**definition)
            changes.append(f"created table {name} (on-demand{', index by_api' if index else ''})")
        except ClientError as exc:
            if _code(exc) != "ResourceInUseException":
                raise
        _wait_active(ddb, name)
        desc = describe(ddb, name) or {}
    keys = {k["AttributeName"]: k["KeyType"] for k in desc.get("KeySchema", [])}
    if keys != {"pk": "HASH", "sk": "RANGE"}:
        raise ValueError(f"table {name} exists with key schema {keys}, expected pk (HASH), sk (RANGE)")
    if desc.get("BillingModeSummary", {}).get("BillingMode", "PAY_PER_REQUEST") != "PAY_PER_REQUEST":
        ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
        _wait_active(ddb, name)
        changes.append(f"{name}: billing mode set to on-demand")
    if index and layout.BY_API_INDEX not in {i["IndexName"] for i in desc.get("GlobalSecondaryIndexes", [])}:
        ddb.update_table(
            TableName=name,
            AttributeDefinitions=definition["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": layout.api_index_definition()}],
        )
        _wait_active(ddb, name)
        changes.append(f"{name}: index {layout.BY_API_INDEX} created")
    ttl = ddb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING") or ttl.get("AttributeName") != layout.TTL_ATTRIBUTE:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": layout.TTL_ATTRIBUTE}
        )
        changes.append(f"{name}: TTL on {layout.TTL_ATTRIBUTE}")
    return changes


def init_table(ddb: Any, table: str) -> list[str]:
    """Create the window table and its digest table, or bring existing ones to the design; returns the changes."""
    return _ensure(ddb, table, layout.table_definition(table), index=True) + _ensure(
        ddb, digest.table_name(table), digest.table_definition(table), index=False
    )


def replicate(ddb: Any, table: str, regions: Sequence[str]) -> list[str]:
    """Give the window table and its digest table a replica in each of ``regions`` (global tables, idempotent:
    ``logpipeline.metrics.replicas``); returns the changes."""
    changes: list[str] = []
    for name in (table, digest.table_name(table)):
        changes += replicas.ensure(ddb, name, regions, describe, _wait_active)
    return changes


def query_all(ddb: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item a Query answers, page after page (errors classified)."""
    request = dict(request)
    items: list[dict[str, Any]] = []
    while True:
        try:
            page = ddb.query(**request)
        except Exception as exc:
            raise classify(exc) from exc
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def partition(ddb: Any, table: str, pk: str) -> list[dict[str, Any]]:
    """Every item of one partition of a pk/sk table, with a consistent read."""
    return query_all(ddb, {
        "TableName": table,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": pk}},
        "ConsistentRead": True,
    })  # fmt: skip


def ensure_keyed_table(ddb: Any, name: str) -> bool:
    """Create an on-demand pk/sk table (``layout.keyed_table``) if it is missing; True when it was created."""
    if describe(ddb, name) is not None:
        return False
    try:
        ddb.create_table(**layout.keyed_table(name))
    except ClientError as exc:
        if _code(exc) != "ResourceInUseException":
            raise classify(exc) from exc
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return True


def generation(ddb: Any, table: str) -> str | None:
    """An identity of the tables' incarnation (their creation times), None when either does not exist."""
    try:
        stamps = [describe(ddb, name) for name in (table, digest.table_name(table))]
    except Exception as exc:
        raise classify(exc) from exc
    if any(d is None for d in stamps):
        return None
    return "/".join(str(d.get("CreationDateTime")) for d in stamps if d is not None)


def is_empty(ddb: Any, table: str) -> bool:
    """One-item probe (used once at sink start, never by the dashboard)."""
    try:
        return not ddb.scan(TableName=table, Limit=1, ProjectionExpression="pk").get("Items")
    except Exception as exc:
        raise classify(exc) from exc


def _graver(held: Exception | None, new: Exception) -> Exception:
    """Of two errors of parallel writes, the one the caller must act on: Denied, then TableMissing, then any."""
    rank = {Denied: 2, TableMissing: 1}
    return new if held is None or rank.get(type(new), 0) > rank.get(type(held), 0) else held


@dataclass
class WriteResult:
    written: int = 0
    stale: int = 0
    failed: list[tuple[Aggregate, str]] = field(default_factory=list)

    def add(self, other: WriteResult) -> None:
        self.written += other.written
        self.stale += other.stale
        self.failed.extend(other.failed)


class ConditionalWriter:
    """Writes aggregates so that only a strictly newer version replaces an item.

    BatchWriteItem cannot carry conditions and transactions cost twice the write capacity, so each
    aggregate is one conditional PutItem; a batch is written by a pool of threads in parallel.
    """

    def __init__(
        self, ddb: Any, table: str, shards: int, retention_days: int, threads: int = 8, region: str = ""
    ) -> None:
        self.ddb, self.table, self.shards, self.retention_days = ddb, table, shards, retention_days
        self.region = region  # the writing pipeline's region: in every key it writes (layout.scope)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ddb-put")

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def _put(self, agg: Aggregate) -> tuple[str, str]:
        """("written" | "stale" | "failed", reason); raises Unavailable or TableMissing."""
        try:
            self.ddb.put_item(
                TableName=self.table,
                Item=layout.to_item(agg, self.shards, self.retention_days, self.region),
                ConditionExpression=layout.CONDITION,
                ExpressionAttributeValues=layout.condition_values(agg),
            )
            return "written", ""
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return "stale", ""
            mapped = classify(exc)
            if mapped is not exc:
                raise mapped from exc
            return "failed", f"{_code(exc)}: {_message(exc)}"
        except BotoCoreError as err:
            raise classify(err) from err

    def write(self, aggregates: Sequence[Aggregate]) -> WriteResult:
        """Write all; raises ``Denied``, ``TableMissing`` or ``Unavailable`` (in that order of precedence, after every
        put has finished) if any put did."""
        result = WriteResult()
        futures = [self.pool.submit(self._put, agg) for agg in aggregates]
        error: Exception | None = None
        for agg, future in zip(aggregates, futures, strict=True):
            try:
                outcome, reason = future.result()
            except (Denied, Unavailable, TableMissing) as exc:
                error = _graver(error, exc)
                continue
            if outcome == "written":
                result.written += 1
            elif outcome == "stale":
                result.stale += 1
            else:
                result.failed.append((agg, reason))
        if error is not None:
            raise error
        return result


class DigestWriter:
    """Merges aggregates into the minute digests: read, merge newer entries, write back if ``rev`` is unchanged."""

    def __init__(
        self,
        ddb: Any,
        table: str,
        retention_days: int,
        shards: int = digest.DEFAULT_SHARDS,
        threads: int = 8,
        region: str = "",
    ) -> None:
        self.ddb, self.table, self.shards, self.retention_days = ddb, digest.table_name(table), shards, retention_days
        self.region = region
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ddb-digest")

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def _merge_one(self, pk: str, sk: str, incoming: list[Aggregate]) -> bool:
        for _ in range(100):
            try:
                held = self.ddb.get_item(
                    TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
                )
                current = held.get("Item")
                rev = int(current["rev"]["N"]) if current else 0
                entries, changed = digest.merge(digest.decode(bytes(current["body"]["B"])) if current else [], incoming)
                if not changed:
                    return False
                condition = (
                    {"ConditionExpression": "rev = :r", "ExpressionAttributeValues": {":r": {"N": str(rev)}}}
                    if current
                    else {"ConditionExpression": "attribute_not_exists(pk)"}
                )
                self.ddb.put_item(
                    TableName=self.table, Item=digest.item(pk, sk, entries, rev + 1, self.retention_days), **condition
                )
                return True
            except ClientError as exc:
                if _code(exc) == "ConditionalCheckFailedException":
                    continue  # another writer changed the digest: read again
                raise classify(exc) from exc
            except BotoCoreError as err:
                raise classify(err) from err
        raise Unavailable(f"digest {pk} {sk}: too many concurrent updates")

    def merge(self, aggregates: Sequence[Aggregate]) -> int:
        """Merge into every digest the aggregates touch; returns how many digests changed."""
        groups: dict[tuple[str, str], list[Aggregate]] = {}
        for agg in aggregates:
            groups.setdefault(digest.key(agg, self.shards, self.region), []).append(agg)
        futures = [self.pool.submit(self._merge_one, pk, sk, group) for (pk, sk), group in groups.items()]
        changed, error = 0, None
        for future in futures:
            try:
                changed += future.result()
            except Exception as exc:
                error = _graver(error, exc)
        if error is not None:
            raise error
        return changed


def bump_revisions(
    ddb: Any, table: str, hours: Iterable[int], now_ms: int, retention_days: int, region: str = ""
) -> int:
    """Bump the change signal of each hour (``revisions``) in the digest table of ``table``; returns the count."""
    name, bumped = digest.table_name(table), 0
    try:
        for hour in hours:
            ddb.update_item(**revisions.bump_request(name, hour, now_ms, retention_days, region))
            bumped += 1
        if bumped:
            ddb.update_item(**revisions.bump_request(name, None, now_ms, retention_days, region))
    except Exception as exc:
        raise classify(exc) from exc
    return bumped


def latest_revision(ddb: Any, table: str, region: str = "") -> int:
    """The counter of every bump so far (0: none); one GetItem."""
    item = ddb.get_item(**revisions.latest_request(digest.table_name(table), region)).get("Item")
    return int(item["rev"]["N"]) if item else 0


def read_revisions(ddb: Any, table: str, start_ms: int, end_ms: int, region: str = "") -> dict[int, revisions.Revision]:
    """The change signal of every hour overlapping ``[start_ms, end_ms)`` that was ever bumped (one Query)."""
    request = revisions.range_request(digest.table_name(table), start_ms, end_ms, region)
    out: dict[int, revisions.Revision] = {}
    while True:
        page = ddb.query(**request)
        for item in page.get("Items", []):
            rev = revisions.from_item(item)
            out[rev.hour] = rev
        if "LastEvaluatedKey" not in page:
            return out
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def bulk_load(
    ddb: Any,
    table: str,
    aggregates: Iterable[Aggregate],
    shards: int = layout.DEFAULT_SHARDS,
    retention_days: int = layout.DEFAULT_RETENTION_DAYS,
    threads: int = 4,
    digest_shards: int = digest.DEFAULT_SHARDS,
    region: str = "",
) -> int:
    """Seed fresh tables with BatchWriteItem (25 a request, unconditional): window items as they come, then the
    minute digests, built in memory (about 0.5 KB per aggregate) and written at the end."""
    digests: dict[tuple[str, str], dict[str, Aggregate]] = {}

    def send(name: str, batch: list[layout.Item]) -> int:
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in batch]
        attempt = 0
        while requests:
            unprocessed = ddb.batch_write_item(RequestItems={name: requests}).get("UnprocessedItems", {})
            requests = unprocessed.get(name, [])
            if requests:
                attempt += 1
                time.sleep(backoff.delay(attempt))
        return len(batch)

    def window_batches() -> Iterable[list[layout.Item]]:
        batch: dict[str, Aggregate] = {}  # a request may not repeat a key: keep the newest version
        for agg in aggregates:
            held = batch.get(agg.id)
            if held is None or agg.version > held.version:
                batch[agg.id] = agg
            entries = digests.setdefault(digest.key(agg, digest_shards, region), {})
            if agg.id not in entries or agg.version > entries[agg.id].version:
                entries[agg.id] = agg
            if len(batch) == BATCH_WRITE_MAX:
                yield [layout.to_item(a, shards, retention_days, region) for a in batch.values()]
                batch = {}
        if batch:
            yield [layout.to_item(a, shards, retention_days, region) for a in batch.values()]

    def digest_batches() -> Iterable[list[layout.Item]]:
        keys = list(digests)
        for i in range(0, len(keys), BATCH_WRITE_MAX):
            yield [
                digest.item(pk, sk, list(digests[(pk, sk)].values()), 1, retention_days)
                for pk, sk in keys[i : i + BATCH_WRITE_MAX]
            ]

    def run(name: str, batches: Iterable[list[layout.Item]]) -> int:
        total = 0
        with ThreadPoolExecutor(max_workers=threads) as pool:
            pending = []
            for batch in batches:
                pending.append(pool.submit(send, name, batch))
                if len(pending) >= threads * 4:
                    total += sum(f.result() for f in pending)
                    pending = []
            total += sum(f.result() for f in pending)
        return total

    written = run(table, window_batches())
    run(digest.table_name(table), digest_batches())
    return written
