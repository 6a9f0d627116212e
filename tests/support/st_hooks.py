"""Schemathesis checks for the API run with an admin token (loaded via SCHEMATHESIS_HOOKS).

* ``no_internal_error``: a 500 is a bug. 502/503 are documented outcomes of an unreachable
  dependency (no executor for a queue, an S3 endpoint down) and are not failures here.
* ``admin_token_accepted``: the admin token must never be refused (401/403 would mean the
  guard or a handler denies an admin, or the token was lost mid-run).
"""

from __future__ import annotations

from typing import Any

import schemathesis

# Sign-in refuses wrong passwords (401); a token may not change a user's password (403).
_MAY_REFUSE = frozenset({"/api/auth/login", "/api/auth/password"})


@schemathesis.check
def no_internal_error(ctx: Any, response: Any, case: Any) -> None:
    """Fail on 500 Internal Server Error."""
    if response.status_code == 500:
        raise AssertionError(f"500 from {case.method} {case.path}: {response.text[:500]}")


@schemathesis.check
def admin_token_accepted(ctx: Any, response: Any, case: Any) -> None:
    """Fail when a request with the admin token is refused."""
    if case.path in _MAY_REFUSE:
        return
    if response.status_code in (401, 403):
        raise AssertionError(
            f"{response.status_code} for the admin from {case.method} {case.path}: "
            f"{response.text[:500]}"
        )
