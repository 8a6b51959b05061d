"""The dashboard's accounts in the metrics store (table ``<table>_dashboard``), written with conditional puts.

Items: ``pk = "user"``, ``sk = <name>`` with the role, the Argon2 hash and ``valid_after`` (ms): sessions issued
before it are refused, so removing a user, changing a role or a password ends their sessions. ``pk = "secret"``,
``sk = "session"``: the key that signs session cookies when no key file is given, made once by whichever process
comes first, so every worker and replica signs alike. Read with GetItem and Query, never a Scan.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from logpipeline.accounts import passwords
from logpipeline.accounts.roles import Role
from logpipeline.metrics import store

USER, SECRET = "user", "secret"
FIRST_ADMIN = "admin"
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")


class AccountError(ValueError):
    """A request about an account that cannot be done (names the account and why)."""


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    password_hash: str
    valid_after: int  # ms: sessions issued before this are refused
    created_at: int


def table_name(table: str) -> str:
    return f"{table}_dashboard"


def ensure_table(ddb: Any, table: str) -> bool:
    return store.ensure_keyed_table(ddb, table_name(table))


_ensured: set[str] = set()
_ensured_lock = threading.Lock()


def ensured(ddb: Any, table: str) -> tuple[Any, str]:
    """``(ddb, table)`` once this process has made sure the accounts table exists (checked once per table)."""
    with _ensured_lock:
        if table not in _ensured:
            ensure_table(ddb, table)
            _ensured.add(table)
    return ddb, table


def check_name(name: str) -> str:
    if not name or len(name) > 64 or not set(name) <= NAME_CHARS:
        raise AccountError(f"user name {name!r}: 1-64 characters of a-z, 0-9, '.', '_', '-', '@'")
    return name


def _now() -> int:
    return int(time.time() * 1000)


def _item(account: Account) -> dict[str, Any]:
    return {
        "pk": {"S": USER},
        "sk": {"S": account.name},
        "role": {"S": account.role.label},
        "hash": {"S": account.password_hash},
        "valid_after": {"N": str(account.valid_after)},
        "created_at": {"N": str(account.created_at)},
    }


def _account(item: dict[str, Any]) -> Account:
    return Account(
        item["sk"]["S"],
        Role[item["role"]["S"].upper()],
        item["hash"]["S"],
        int(item["valid_after"]["N"]),
        int(item["created_at"]["N"]),
    )


def _conditional(call: Callable[[], object], refused: str | None) -> None:
    """Run a conditional write; its condition failing raises ``AccountError(refused)`` (None: ignored)."""
    try:
        call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise store.classify(exc) from exc
        if refused is not None:
            raise AccountError(refused) from None


def add(ddb: Any, table: str, name: str, role: Role, password: str) -> Account:
    """A new account; refused if the name is taken."""
    now = _now()
    account = Account(check_name(name), role, passwords.hash_password(password), now, now)
    put = {"TableName": table_name(table), "Item": _item(account), "ConditionExpression": "attribute_not_exists(pk)"}
    _conditional(lambda: ddb.put_item(**put), f"user {name!r} already exists")
    return account


def first_admin(ddb: Any, table: str, password: str) -> Account | None:
    """``admin`` with ``password`` while the table has no user at all (a removed admin stays removed once others
    exist); the existing admin when two processes raced; None when other users exist."""
    if all_accounts(ddb, table):
        return get(ddb, table, FIRST_ADMIN)
    with contextlib.suppress(AccountError):
        add(ddb, table, FIRST_ADMIN, Role.ADMIN, password)
    return get(ddb, table, FIRST_ADMIN)


def get(ddb: Any, table: str, name: str) -> Account | None:
    try:
        got = ddb.get_item(TableName=table_name(table), Key={"pk": {"S": USER}, "sk": {"S": name}}, ConsistentRead=True)
    except Exception as exc:
        raise store.classify(exc) from exc
    return _account(got["Item"]) if "Item" in got else None


def _require(ddb: Any, table: str, name: str) -> Account:
    found = get(ddb, table, name)
    if found is None:
        raise AccountError(f"no user {name!r}")
    return found


def _replace(ddb: Any, table: str, old: Account, new: Account) -> None:
    """Write ``new`` only if the account is still ``old`` (two admins never undo each other's change silently)."""
    put = {
        "TableName": table_name(table),
        "Item": _item(new),
        "ConditionExpression": "valid_after = :v AND #h = :h",
        "ExpressionAttributeNames": {"#h": "hash"},
        "ExpressionAttributeValues": {":v": {"N": str(old.valid_after)}, ":h": {"S": old.password_hash}},
    }
    _conditional(lambda: ddb.put_item(**put), f"user {old.name!r} changed meanwhile; try again")


def set_role(ddb: Any, table: str, name: str, role: Role) -> Account:
    """A new role; the user's sessions end (they sign in again with it)."""
    old = _require(ddb, table, name)
    new = Account(old.name, role, old.password_hash, max(_now(), old.valid_after + 1), old.created_at)
    _replace(ddb, table, old, new)
    return new


def set_password(ddb: Any, table: str, name: str, password: str) -> Account:
    """A new password; the user's sessions end."""
    old = _require(ddb, table, name)
    new = Account(
        old.name, old.role, passwords.hash_password(password), max(_now(), old.valid_after + 1), old.created_at
    )
    _replace(ddb, table, old, new)
    return new


def end_sessions(ddb: Any, table: str, name: str) -> None:
    """Ends every session of the user issued until now (sign-out ends them on every device)."""
    old = _require(ddb, table, name)
    new = Account(old.name, old.role, old.password_hash, max(_now(), old.valid_after + 1), old.created_at)
    _replace(ddb, table, old, new)


def rehash(ddb: Any, table: str, old: Account, password: str) -> None:
    """After a sign-in with a hash of weaker parameters: the same password, hashed as today (sessions stay)."""
    new = Account(old.name, old.role, passwords.hash_password(password), old.valid_after, old.created_at)
    with contextlib.suppress(AccountError):  # changed meanwhile: the newer hash stands
        _replace(ddb, table, old, new)


def remove(ddb: Any, table: str, name: str) -> None:
    key = {"pk": {"S": USER}, "sk": {"S": name}}
    delete = {"TableName": table_name(table), "Key": key, "ConditionExpression": "attribute_exists(pk)"}
    _conditional(lambda: ddb.delete_item(**delete), f"no user {name!r}")


def all_accounts(ddb: Any, table: str) -> list[Account]:
    return [_account(item) for item in store.partition(ddb, table_name(table), USER)]


def session_secret(ddb: Any, table: str) -> bytes:
    """The key that signs session cookies: made by the first process that asks, read by every other."""
    key = {"pk": {"S": SECRET}, "sk": {"S": "session"}}
    item = {**key, "value": {"B": secrets.token_bytes(32)}}
    put = {"TableName": table_name(table), "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
    _conditional(lambda: ddb.put_item(**put), None)
    try:
        got = ddb.get_item(TableName=table_name(table), Key=key, ConsistentRead=True)
    except Exception as exc:
        raise store.classify(exc) from exc
    return bytes(got["Item"]["value"]["B"])
