"""How to reach NATS: the server list, credentials, TLS and the replication of what we create.

Services build :class:`NatsOptions` in their settings modules with :func:`options_from_env`
(the mapping is passed in; this module never reads the process environment) and hand it to
:meth:`lifeboat.wire.bus.Bus.connect`.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from lifeboat.core.config import env_int
from lifeboat.core.errors import ConfigurationError

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
_SCHEMES = {"nats", "tls", "ws", "wss"}


def split_servers(text: str) -> tuple[str, ...]:
    """The servers of a comma-separated ``NATS_URL`` (``nats://a:4222,nats://b:4222``).

    A bare ``host:port`` gets ``nats://``. Raises ConfigurationError for an empty list or an
    unknown scheme.
    """
    servers: list[str] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        if "://" not in item:
            item = f"nats://{item}"
        scheme = urlsplit(item).scheme
        if scheme not in _SCHEMES:
            raise ConfigurationError(
                f"NATS_URL: {redact_url(item)} must start with one of "
                + ", ".join(f"{s}://" for s in sorted(_SCHEMES))
            )
        servers.append(item)
    if not servers:
        raise ConfigurationError("NATS_URL names no server")
    return tuple(servers)


def redact_url(url: str) -> str:
    """`url` without user info (a NATS URL may carry ``user:password@``)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True, kw_only=True)
class NatsOptions:
    """Everything needed to connect to NATS, and how many replicas new streams get.

    At most one way to authenticate is given: ``user`` + ``password``, a ``creds_file``
    (JWT + nkey seed, as ``nsc`` writes it) or an ``nkey_seed_file``. TLS is used when a server
    URL is ``tls://`` or when any ``tls_*`` file is given; ``tls_ca`` verifies the servers,
    ``tls_cert`` + ``tls_key`` is a client certificate for servers that ask for one.
    """

    servers: tuple[str, ...] = (DEFAULT_NATS_URL,)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    creds_file: Path | None = None
    nkey_seed_file: Path | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    replicas: int = 1
    """``num_replicas`` of the streams and KV buckets this process creates (3 in a cluster)."""
    inbox_prefix: str | None = None
    """Subject prefix of this connection's reply inboxes (see ``subjects.inbox_prefix``), so
    a server can let each service subscribe to its own replies only."""

    def __post_init__(self) -> None:
        if not self.servers:
            raise ConfigurationError("NATS_URL names no server")
        ways = [self.user is not None, self.creds_file is not None, self.nkey_seed_file is not None]
        if sum(ways) > 1:
            raise ConfigurationError(
                "give one of NATS_USER/NATS_PASSWORD, NATS_CREDS or NATS_NKEY_SEED, not several"
            )
        if (self.password is not None) and self.user is None:
            raise ConfigurationError("NATS_PASSWORD needs NATS_USER")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigurationError("NATS_TLS_CERT and NATS_TLS_KEY go together")
        if not 1 <= self.replicas <= 5:
            raise ConfigurationError("NATS_REPLICAS must be between 1 and 5")

    @classmethod
    def from_url(cls, url: str) -> NatsOptions:
        """Options for the comma-separated server list `url`, without credentials."""
        return cls(servers=split_servers(url))

    @property
    def display(self) -> str:
        """The server list without credentials, for logs and status pages."""
        return ",".join(redact_url(url) for url in self.servers)

    @property
    def wants_tls(self) -> bool:
        """Whether connections must use TLS."""
        return any(urlsplit(u).scheme in ("tls", "wss") for u in self.servers) or any(
            f is not None for f in (self.tls_ca, self.tls_cert, self.tls_key)
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for these options (server verification always on), or None."""
        if not self.wants_tls:
            return None
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(self.tls_ca) if self.tls_ca else None
        )
        if self.tls_cert is not None and self.tls_key is not None:
            context.load_cert_chain(str(self.tls_cert), str(self.tls_key))
        return context


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise ConfigurationError(f"{name}: {path} is not a readable file")
    return path


def options_from_env(env: Mapping[str, str], *, inbox_prefix: str | None = None) -> NatsOptions:
    """Parse ``NATS_URL`` (comma-separated), ``NATS_USER``/``NATS_PASSWORD``, ``NATS_CREDS``,
    ``NATS_NKEY_SEED``, ``NATS_TLS_CA``/``NATS_TLS_CERT``/``NATS_TLS_KEY`` and ``NATS_REPLICAS``
    from `env` (passed in by a service's settings module)."""
    user = env.get("NATS_USER", "").strip() or None
    # Passwords are taken as given: leading or trailing spaces may be part of them.
    password = env.get("NATS_PASSWORD") or None
    return NatsOptions(
        servers=split_servers(env.get("NATS_URL", "").strip() or DEFAULT_NATS_URL),
        user=user,
        password=password,
        creds_file=_path(env, "NATS_CREDS"),
        nkey_seed_file=_path(env, "NATS_NKEY_SEED"),
        tls_ca=_path(env, "NATS_TLS_CA"),
        tls_cert=_path(env, "NATS_TLS_CERT"),
        tls_key=_path(env, "NATS_TLS_KEY"),
        replicas=env_int(env, "NATS_REPLICAS", 1, minimum=1),
        inbox_prefix=inbox_prefix,
    )
