"""Outbound-request safety: refuse URLs that point into private or special networks.

An S3 endpoint (or any URL a user configures) is fetched by our services from inside the
deployment's network; unless an admin allows it, such a URL must not reach loopback, link-local
(cloud metadata services), private, multicast, unspecified or reserved addresses.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from lifeboat.core.errors import ValidationError

Resolver = Callable[..., Sequence[tuple[Any, ...]]]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_forbidden_address(ip: IPAddress) -> bool:
    """Whether `ip` is loopback, link-local, private, multicast, unspecified or reserved."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_multicast
        or ip.is_unspecified
        or ip.is_reserved
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"))
    )


def check_outbound_url(
    url: str, allow_private: bool, *, resolve: Resolver = socket.getaddrinfo
) -> list[str]:
    """Validate an http(s) URL our services will connect to; return the addresses it has.

    Raises :class:`ValidationError` when the scheme is not http/https, the host is missing or
    does not resolve, or (unless `allow_private`) any address it resolves to is forbidden.
    Blocking (DNS): call it in a worker thread from async code.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"invalid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError("only http:// and https:// URLs are allowed")
    host = parts.hostname
    if not host:
        raise ValidationError("the URL has no host")
    if parts.username or parts.password:
        raise ValidationError("credentials in the URL are not allowed")
    default_port = 443 if parts.scheme == "https" else 80
    try:
        infos = resolve(host, port or default_port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ValidationError(f"cannot resolve {host}: {exc}") from None
    addresses = sorted({str(info[4][0]).split("%", 1)[0] for info in infos})
    if not addresses:
        raise ValidationError(f"cannot resolve {host}")
    if allow_private:
        return addresses
    for address in addresses:
        if is_forbidden_address(ipaddress.ip_address(address)):
            raise ValidationError(
                f"{host} resolves to {address}, a private or special address; an admin can "
                "allow such endpoints with the allow_private_endpoints setting"
            )
    return addresses
