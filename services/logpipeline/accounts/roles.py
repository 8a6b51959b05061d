"""Roles, ordered: a viewer reads; an editor also changes views, SLO targets, silences and annotations; an admin also
manages users. A provider's groups map to the highest role whose groups they share."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping


class Role(enum.IntEnum):
    VIEWER = 1
    EDITOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


NAMES = tuple(r.label for r in Role)


class UnknownRole(ValueError):
    pass


def parse(text: str) -> Role:
    """``viewer``, ``editor`` or ``admin`` (any case)."""
    try:
        return Role[text.strip().upper()]
    except KeyError:
        raise UnknownRole(f"role must be one of {', '.join(NAMES)}, got {text!r}") from None


def from_groups(groups: Iterable[str], mapping: Mapping[Role, Iterable[str]]) -> Role | None:
    """The highest role one of whose groups is among ``groups`` (``*``: anyone signed in); None when none maps."""
    member = set(groups)
    for role in sorted(mapping, reverse=True):
        wanted = set(mapping[role])
        if "*" in wanted or member & wanted:
            return role
    return None
