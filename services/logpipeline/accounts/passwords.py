"""Password hashes: Argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile), and the rules a new
password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
_HASHER = PasswordHasher()


class WeakPassword(ValueError):
    pass


def check(password: str) -> None:
    """Refuses a password that is too short or all whitespace, naming the rule."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters, got {len(password)}")
    if not password.strip():
        raise WeakPassword("a password cannot be only whitespace")


def hash_password(password: str) -> str:
    check(password)
    return _HASHER.hash(password)


def verify(encoded: str, password: str) -> bool:
    """True when ``password`` matches; False for a wrong one or an unreadable hash (never an exception)."""
    try:
        return _HASHER.verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    """True when the hash was made with weaker parameters than today's (it is replaced at the next sign-in)."""
    return _HASHER.check_needs_rehash(encoded)
