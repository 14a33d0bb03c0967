"""argon2id password hashing (the argon2-cffi defaults, OWASP's recommended parameters)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the user does not exist, so that both cases take the same time.
_DUMMY_HASH = _hasher.hash("cvatcore-timing-equalizer")


def use_cheap_hashes_for_tests() -> None:
    """Switch to argon2's lowest cost. Only the testing kit calls this: suites create hundreds
    of accounts, and the cost of a hash says nothing about the behaviour under test."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    _DUMMY_HASH = _hasher.hash("cvatcore-timing-equalizer")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
