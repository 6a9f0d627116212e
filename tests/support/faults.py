"""Tools of the fault suite (tests/e2e/test_faults.py): signal a process together with its
descendants, and watch restore sessions on target databases.

Client tools run in their own sessions (``start_new_session``, so the executor can kill a
pipeline as a group), so a signal to the executor's process group never reaches them: the
process tree is walked through ``/proc`` instead (parent PIDs), the way a container runtime or
a VM pause reaches every process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from tests.support.dbs import my_connect, pg_admin


def _stat(pid: int) -> tuple[str, int] | None:
    """State letter and parent PID of `pid`, or None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may itself contain spaces or parentheses.
    fields = text.rpartition(")")[2].split()
    return fields[0], int(fields[1])


def descendants(pid: int) -> list[int]:
    """Every living descendant of `pid` (children first, then theirs)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and st[0] != "Z":
                children.setdefault(st[1], []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie."""
    st = _stat(pid)
    return st is not None and st[0] != "Z"


def _send(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def freeze_tree(pid: int) -> list[int]:
    """SIGSTOP `pid` and all its descendants (a paused VM or a frozen cgroup); returns the
    frozen PIDs, `pid` first. The root is stopped first so it cannot start new children; the
    walk is repeated until it finds nobody new (a child may have been forking)."""
    _send(pid, signal.SIGSTOP)
    frozen = [pid]
    for _ in range(5):
        new = [p for p in descendants(pid) if p not in frozen]
        if not new:
            break
        for p in new:
            _send(p, signal.SIGSTOP)
        frozen.extend(new)
    return frozen


def thaw(pids: Iterable[int]) -> None:
    """SIGCONT every PID of `pids` that still exists (children before their parents)."""
    for p in reversed(list(pids)):
        _send(p, signal.SIGCONT)


def kill_tree(pid: int) -> list[int]:
    """SIGKILL `pid` and all its descendants; returns their PIDs.

    Frozen first, so no child reacts to its parent's death (a broken pipe, a cleanup) before
    it is killed itself: everything dies at the same instant, as in a machine crash.
    """
    pids = freeze_tree(pid)
    for p in pids:
        _send(p, signal.SIGKILL)
    return pids


def wait_gone(pids: Iterable[int], timeout: float) -> bool:
    """Wait until none of `pids` is alive; False if some still are after `timeout`."""
    pending = list(pids)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [p for p in pending if alive(p)]
        if not pending:
            return True
        time.sleep(0.1)
    return not [p for p in pending if alive(p)]


# --- restore sessions on a target database ------------------------------------------------------

# PostgreSQL: pg_restore on the target, and psql on the maintenance database dropping and
# recreating it (its query names the target). Client tools set application_name themselves.
_PG_SESSIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE application_name IN ('pg_restore', 'psql')
  AND (datname = %(db)s OR position(%(db)s in query) > 0)
"""

# MariaDB has no program name without performance_schema: the restore sessions are the ones of
# the user Lifeboat connects as (the test's own connections use another user), on the target
# or naming it (DROP/CREATE DATABASE run without a default database).
_MY_SESSIONS = """
SELECT COUNT(*) FROM information_schema.PROCESSLIST
WHERE USER = %s AND (DB = %s OR INFO LIKE %s)
"""


@dataclass
class Watched:
    """What the sampler saw on one target database."""

    engine: str
    name: str
    max_sessions: int = 0
    overlaps: list[tuple[float, int]] = field(default_factory=list[tuple[float, int]])
    """(monotonic time, session count) of every sample with more than one restore session."""
    samples: int = 0


class RestoreSessions:
    """Samples, every `interval` seconds in a thread, how many restore sessions are connected to
    each watched target database (see the queries above): two at once means two restores
    overlap on one target."""

    def __init__(self, mysql_user: str, interval: float = 0.1) -> None:
        self.mysql_user = mysql_user
        self.interval = interval
        self._watched: dict[str, Watched] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="restore-sessions", daemon=True)
        self.error: BaseException | None = None

    def watch(self, engine: str, name: str) -> Watched:
        """Start sampling target database `name` of `engine` ("postgresql" or "mysql")."""
        with self._lock:
            watched = self._watched[name] = Watched(engine, name)
            return watched

    def _targets(self) -> list[Watched]:
        with self._lock:
            return list(self._watched.values())

    def _run(self) -> None:
        try:
            with pg_admin() as pg:
                my = my_connect()
                try:
                    while not self._stop.wait(self.interval):
                        for target in self._targets():
                            if target.engine == "postgresql":
                                row = pg.execute(_PG_SESSIONS, {"db": target.name}).fetchone()
                            else:
                                with my.cursor() as cur:
                                    like = f"%{target.name}%"
                                    cur.execute(_MY_SESSIONS, (self.mysql_user, target.name, like))
                                    row = cur.fetchone()
                            count = int(str(row[0])) if row else 0
                            target.samples += 1
                            target.max_sessions = max(target.max_sessions, count)
                            if count > 1:
                                target.overlaps.append((time.monotonic(), count))
                finally:
                    my.close()
        except BaseException as exc:  # reported by the tests through .error
            self.error = exc

    def __enter__(self) -> RestoreSessions:
        self._thread.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(10)
