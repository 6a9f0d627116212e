"""Sign-in throttling: lockout with exponential back-off, per account and per client IP.

Pure bookkeeping over a clock; the API keeps one instance in memory (it is the only process
that signs users in). After `threshold` consecutive failures a key is locked for `base_s`
seconds, doubling with each further failure up to `max_s`. Failures are forgotten after
`forget_s` seconds without one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Entry:
    failures: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0


@dataclass(frozen=True)
class Limits:
    """How many failures are allowed before a lock, and how long locks last."""

    threshold: int
    base_s: float = 30.0
    max_s: float = 15 * 60.0
    forget_s: float = 60 * 60.0


ACCOUNT_LIMITS = Limits(threshold=5)
IP_LIMITS = Limits(threshold=20)
_MAX_ENTRIES = 50_000


class LoginThrottle:
    """Tracks failed sign-ins by account (lower-cased email) and by client IP."""

    def __init__(
        self,
        *,
        account: Limits = ACCOUNT_LIMITS,
        ip: Limits = IP_LIMITS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"account": account, "ip": ip}
        self._clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}

    def _keys(self, email: str, ip: str | None) -> list[tuple[str, str]]:
        keys = [("account", email.strip().lower())]
        if ip:
            keys.append(("ip", ip))
        return keys

    def _entry(self, key: tuple[str, str]) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() - entry.last_failure > self._limits[key[0]].forget_s:
            del self._entries[key]
            return None
        return entry

    def retry_after(self, email: str, ip: str | None) -> float:
        """Seconds until a sign-in for `email` from `ip` may be tried (0: now)."""
        now = self._clock()
        wait = 0.0
        for key in self._keys(email, ip):
            entry = self._entry(key)
            if entry is not None and entry.locked_until > now:
                wait = max(wait, entry.locked_until - now)
        return wait

    def failure(self, email: str, ip: str | None) -> None:
        """Count a failed sign-in; lock the keys that reached their threshold."""
        now = self._clock()
        if len(self._entries) > _MAX_ENTRIES:
            self._entries.clear()  # memory bound under a flood; locks restart from zero
        for key in self._keys(email, ip):
            limits = self._limits[key[0]]
            entry = self._entry(key) or self._entries.setdefault(key, _Entry())
            entry.failures += 1
            entry.last_failure = now
            over = entry.failures - limits.threshold
            if over >= 0:
                entry.locked_until = now + min(limits.max_s, limits.base_s * 2**over)

    def success(self, email: str) -> None:
        """A successful sign-in clears the account's failures (the IP's stay)."""
        self._entries.pop(("account", email.strip().lower()), None)
