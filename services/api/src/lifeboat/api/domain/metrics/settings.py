"""The ``/metrics`` access settings (read with the API's other settings)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from lifeboat.core.errors import ConfigurationError
from lifeboat.core.logs import register_secret

MIN_TOKEN_LEN = 16


@dataclass(frozen=True, kw_only=True)
class MetricsSettings:
    """METRICS_TOKEN and METRICS_ALLOW."""

    token: str | None = field(default=None, repr=False)
    allow: tuple[str, ...] = ()
    """Allowed networks in CIDR form (strings: the settings travel through msgspec, which
    cannot type a union of two network classes)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MetricsSettings:
        """Read METRICS_TOKEN (at least 16 characters) and METRICS_ALLOW (comma-separated
        CIDR networks or addresses)."""
        token = env.get("METRICS_TOKEN", "").strip() or None
        if token is not None:
            if len(token) < MIN_TOKEN_LEN:
                raise ConfigurationError("METRICS_TOKEN must be at least 16 characters long")
            register_secret(token)
        networks: list[str] = []
        for item in env.get("METRICS_ALLOW", "").split(","):
            if not item.strip():
                continue
            try:
                networks.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError as exc:
                raise ConfigurationError(
                    f"METRICS_ALLOW: {item.strip()!r} is not a network"
                ) from exc
        return cls(token=token, allow=tuple(networks))

    def allows_address(self, host: str | None) -> bool:
        """Whether `host` (the client's address) is in an allowed network."""
        if not host or not self.allow:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(network) for network in self.allow)
