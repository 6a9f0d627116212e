"""A real nats-server with Lifeboat's shipped users and permissions (deploy/nats/cluster/).

The server runs deploy/nats/cluster/accounts.conf itself (copied beside a small test config,
since nats-server includes files relative to the including one), so tests check what ships.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.natsd import free_port, nats_binary, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS_CONF = ROOT / "deploy" / "nats" / "cluster" / "accounts.conf"

# Role → (NATS user, the server-side variable holding its password).
USERS: Mapping[str, tuple[str, str]] = {
    "api": ("lifeboat-api", "LIFEBOAT_API_NATS_PASSWORD"),
    "scheduler": ("lifeboat-scheduler", "LIFEBOAT_SCHEDULER_NATS_PASSWORD"),
    "executor": ("lifeboat-executor-default", "LIFEBOAT_EXECUTOR_NATS_PASSWORD"),
    "trigger": ("lifeboat-trigger", "LIFEBOAT_TRIGGER_NATS_PASSWORD"),
}
_VIOLATION = re.compile(r"(Publish|Subscription) Violation.*")


@dataclass
class SecuredNats:
    """A running nats-server with the shipped accounts; `passwords` by role."""

    url: str
    pid: int
    log_path: Path
    passwords: dict[str, str] = field(repr=False)

    def user(self, role: str) -> str:
        """The NATS user name of `role` (api, scheduler, executor, trigger)."""
        return USERS[role][0]

    def env(self, role: str) -> dict[str, str]:
        """The NATS_* variables a service of `role` is started with."""
        return {
            "NATS_URL": self.url,
            "NATS_USER": self.user(role),
            "NATS_PASSWORD": self.passwords[role],
        }

    def violations(self) -> list[str]:
        """Permission violations the server logged so far."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [m.group(0) for m in _VIOLATION.finditer(text)]


@contextmanager
def run_secured_nats(work: Path) -> Generator[SecuredNats]:
    """Start nats-server -js with deploy/nats/cluster/accounts.conf on a free port; stop it after."""
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ACCOUNTS_CONF, work / "accounts.conf")
    port = free_port()
    log_path = work / "nats.log"
    (work / "nats.conf").write_text(
        f'listen: "127.0.0.1:{port}"\n'
        "server_name: lifeboat-test\n"
        f'jetstream {{ store_dir: "{work / "js"}" }}\n'
        "include ./accounts.conf\n"
    )
    # nats-server parses a variable's value as configuration: a password like "1e5" or one
    # with punctuation would not survive, so letters and digits starting with a letter.
    passwords = {role: f"p{secrets.token_hex(16)}" for role in USERS}
    env = dict(os.environ)
    env.update({variable: passwords[role] for role, (_, variable) in USERS.items()})
    # Passwords reach the server through its environment, never its argv.
    with (work / "nats.stderr").open("wb") as stderr:  # the child keeps its own copy
        proc = subprocess.Popen(
            [nats_binary(), "-c", str(work / "nats.conf"), "-l", str(log_path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        wait_for_port(port, 20)
        yield SecuredNats(
            url=f"nats://127.0.0.1:{port}", pid=proc.pid, log_path=log_path, passwords=passwords
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
