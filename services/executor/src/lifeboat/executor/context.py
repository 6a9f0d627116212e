"""What every job handler of one executor shares."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from lifeboat.core.crypto import Sealer
from lifeboat.core.logs import forget_secret, register_secret
from lifeboat.engines.common import Connection, Toolbox
from lifeboat.executor.settings import Settings
from lifeboat.storage.local import LocalStore
from lifeboat.wire.messages import Target


@dataclass
class Context:
    """Settings, crypto, storage and tools of one executor process."""

    settings: Settings
    base_env: Mapping[str, str]
    sealer: Sealer
    storage: LocalStore
    toolbox: Toolbox
    _secret_refs: Counter[str] = field(default_factory=Counter[str])
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings, base_env: Mapping[str, str]) -> Context:
        """The context for `settings`; `base_env` is what client tools inherit."""
        return cls(
            settings=settings,
            base_env=dict(base_env),
            sealer=Sealer(settings.seal_key),
            storage=LocalStore(settings.storage_path),
            toolbox=Toolbox(settings.tool_path),
        )

    @contextmanager
    def connection(self, target: Target, *, bound_to: str) -> Generator[Connection]:
        """Open the sealed password of `target` for the duration of a job.

        The password is registered with the log redactor while in use and forgotten after
        (reference-counted, since two jobs may share a password).

        Raises:
            DecryptionError: the seal key differs or the sealed value was made for another job.
        """
        password = self.sealer.open(target.sealed_password, bound_to=bound_to)
        with self._lock:
            self._secret_refs[password] += 1
        register_secret(password)
        try:
            yield Connection(
                engine=target.engine,
                host=target.host,
                port=target.port,
                database=target.database,
                username=target.username,
                password=password,
            )
        finally:
            with self._lock:
                self._secret_refs[password] -= 1
                last = self._secret_refs[password] <= 0
                if last:
                    del self._secret_refs[password]
            if last:
                forget_secret(password)
