"""Roles (order, parsing, groups of an OpenID provider) and password hashes (Argon2id, rules, rehash)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from logpipeline.accounts import passwords, roles
from logpipeline.accounts.roles import Role


def test_roles_are_ordered_and_parsed_by_name() -> None:
    assert Role.VIEWER < Role.EDITOR < Role.ADMIN
    assert roles.parse(" Editor ") is Role.EDITOR
    with pytest.raises(roles.UnknownRole, match="one of viewer, editor, admin, got 'owner'"):
        roles.parse("owner")


def test_groups_map_to_the_highest_role_they_share() -> None:
    mapping = {Role.ADMIN: ["ops-leads"], Role.EDITOR: ["sre", "ops-leads"], Role.VIEWER: ["everyone"]}
    assert roles.from_groups(["everyone", "sre"], mapping) is Role.EDITOR
    assert roles.from_groups(["ops-leads"], mapping) is Role.ADMIN
    assert roles.from_groups(["everyone"], mapping) is Role.VIEWER
    assert roles.from_groups(["marketing"], mapping) is None
    assert roles.from_groups([], mapping) is None
    assert roles.from_groups([], {Role.EDITOR: ["sre"], Role.VIEWER: ["*"]}) is Role.VIEWER  # anyone signed in


def test_a_hash_verifies_its_password_only() -> None:
    encoded = passwords.hash_password("correct horse battery")
    assert encoded.startswith("$argon2id$")
    assert passwords.verify(encoded, "correct horse battery")
    assert not passwords.verify(encoded, "correct horse batterY")
    assert not passwords.verify("not a hash", "correct horse battery")
    assert not passwords.needs_rehash(encoded)


def test_weaker_hashes_are_marked_for_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse battery")
    assert passwords.verify(weak, "correct horse battery")
    assert passwords.needs_rehash(weak)


def test_short_or_blank_passwords_are_refused_naming_the_rule() -> None:
    with pytest.raises(passwords.WeakPassword, match="at least 12 characters, got 5"):
        passwords.hash_password("short")
    with pytest.raises(passwords.WeakPassword, match="only whitespace"):
        passwords.check(" " * 14)
