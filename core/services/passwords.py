"""argon2id password hashing (the argon2-cffi defaults, OWASP's recommended parameters), and
a short memory of successful verifications, so that HTTP Basic clients (which send the
password with every request) do not pay a full argon2id verification (~180 ms of CPU) each time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

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


class VerifiedPasswords:
    """Successful verifications of the last ``ttl`` seconds, in this process's memory.

    An entry is an HMAC (a random key per process) of the user name, the password and the
    stored hash: no password, nor anything a password could be guessed from offline, is
    kept, and a new password (a new stored hash) finds no entry, so a password change takes
    effect at once. Only successes are remembered: every wrong password costs a full
    verification, and the sign-in throttle limits how many there can be. Whether the account
    is still active is checked by the caller on every request, not remembered here.
    """

    def __init__(self, ttl: float = 60.0, max_entries: int = 10_000) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._key = secrets.token_bytes(32)
        self._entries: dict[bytes, float] = {}  # digest -> expiry (monotonic)
        self._lock = threading.Lock()

    def _digest(self, username: str, stored: str, password: str) -> bytes:
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        for part in (username, password, stored):  # length-prefixed: no two tuples alike
            data = part.encode("utf-8", "surrogatepass")
            mac.update(len(data).to_bytes(8, "big"))
            mac.update(data)
        return mac.digest()

    def remembers(self, username: str, stored: str, password: str) -> bool:
        """Whether this password was verified against ``stored`` in the last ``ttl`` s."""
        expiry = self._entries.get(self._digest(username, stored, password))
        return expiry is not None and expiry > time.monotonic()

    def verify(self, username: str, stored: str | None, password: str) -> bool:
        """``verify_password``, answered from memory for a success of the last ``ttl`` s."""
        if stored is None:
            return verify_password(stored, password)
        digest = self._digest(username, stored, password)
        now = time.monotonic()
        expiry = self._entries.get(digest)
        if expiry is not None and expiry > now:
            return True
        if not verify_password(stored, password):
            return False
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._evict(now)
            self._entries[digest] = now + self.ttl
        return True

    def _evict(self, now: float) -> None:
        self._entries = {d: e for d, e in self._entries.items() if e > now}
        while len(self._entries) >= self.max_entries:  # all alive: drop the oldest
            del self._entries[next(iter(self._entries))]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


#: The process's memory of successful verifications (see ``VerifiedPasswords``).
verified_passwords = VerifiedPasswords()
