"""In-memory auth state of one API process."""

from __future__ import annotations

from dataclasses import dataclass, field

from lifeboat.api.auth.throttle import LoginThrottle


@dataclass
class AuthRuntime:
    """Sign-in throttle and whether the first admin exists (once true, stays true)."""

    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    has_users: bool = False
