"""Failed log-ins per account, on the counter store every worker shares
(lumyx.limits.storage), so that guessing one account's password from many
addresses is slowed down as much as from one.

An account's failures are counted in a window of FAILURE_WINDOW_S from its
first. From the FREE_FAILURES-th on, each failure locks the account's log-in for
``min(2 ** (n - FREE_FAILURES), MAX_LOCK_S)`` seconds (1, 2, 4 … 300): no
password, right or wrong, is checked until the lock ends. The lock ends by
itself, so whoever fails on purpose keeps the owner out for at most
MAX_LOCK_S after their last try; a log-in that succeeds clears the count.

Addresses that belong to no account are counted the same way, so a lock says
nothing about whether an account exists. Counters are named by a hash of the
address, never the address itself. When the store does not answer, log-ins go
on unguarded (and the log says so): they are never refused for that reason.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from limits.storage import Storage

log = logging.getLogger("lumyx.failed_logins")

FREE_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
MAX_LOCK_S = 300


def lock_seconds(failures: int) -> int:
    """How long the log-in stays locked after the ``failures``-th failure in a window (0: not locked)."""
    if failures < FREE_FAILURES:
        return 0
    return min(2 ** min(failures - FREE_FAILURES, 16), MAX_LOCK_S)


class FailedLogins:
    def __init__(self, storage: Storage, prefix: str) -> None:
        self.storage = storage
        self.prefix = prefix

    def _keys(self, email: str) -> tuple[str, str]:
        digest = hashlib.blake2b((email or "").strip().lower().encode(), digest_size=16).hexdigest()
        return f"{self.prefix}/login-failures/{digest}", f"{self.prefix}/login-lock/{digest}"

    def locked_for(self, email: str) -> int:
        """Whole seconds the account's log-in stays locked (at least 1), or 0."""
        _, lock = self._keys(email)
        try:
            if self.storage.get(lock) <= 0:
                return 0
            ends_at = self.storage.get_expiry(lock)
        except self.storage.base_exceptions:
            log.warning("Counter store unreachable - log-ins are not counted per account")
            return 0
        return max(1, math.ceil(ends_at - time.time()))

    def failed(self, email: str) -> int:
        """Counts a failed log-in; answers the seconds the account is now locked for (0: none)."""
        failures, lock = self._keys(email)
        try:
            count = self.storage.incr(failures, FAILURE_WINDOW_S)
            seconds = lock_seconds(count)
            if seconds:
                self.storage.clear(lock)
                self.storage.incr(lock, seconds)
        except self.storage.base_exceptions:
            log.warning("Counter store unreachable - log-ins are not counted per account")
            return 0
        return seconds

    def succeeded(self, email: str) -> None:
        """A log-in that succeeded: the account's failures are forgotten."""
        failures, lock = self._keys(email)
        try:
            self.storage.clear(failures)
            self.storage.clear(lock)
        except self.storage.base_exceptions:
            log.warning("Counter store unreachable - log-ins are not counted per account")
