"""Generated service vs raw reference, side by side, on real servers.

    uv run python benchmarks/perf.py --database postgres
    uv run python benchmarks/perf.py --database mongodb            # once the template offers it
    uv run python benchmarks/perf.py -d layout=domain --rounds 5 --duration 15

One run: render the template (the working tree, as the suite does), build the project's venv
with uv (shared cache), start the database (TEST_DATABASE_URL / TEST_MONGODB_URL, else pgserver /
FerretDB as the suite does), migrate, seed users and orders through the generated API, start the
generated app and the raw reference app (benchmarks/reference/raw_<database>.py, run by the
generated project's interpreter) with uvicorn (1 worker, uvloop, httptools), then load-test both
with wrk in alternating rounds: server processes on CPU 0, wrk and the database on CPU 1.

Scenarios (64 connections unless --connections says otherwise):
  get      GET /api/v1/orders/{id}       an order of the token's user
  list     GET /api/v1/orders?limit=20   a page of 20 of that user's orders
  create   POST /api/v1/orders           authenticated; writers are other users than readers
  health   GET /health with 1 connection while 64 connections run get/list/create mixed
Printed: req/s, p50 and p99 per scenario and app (median over rounds) and the ratio
generated/raw (median of the per-round ratios), with the targets of docs/performance.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _services import MONGODB, POSTGRES, Services, ServiceUnavailable, free_port
from conftest import (
    find_python,
    generated_env,
    refused_by_design,
    render,
    required_python,
    run_generated_project,
    template_source,
)

REFERENCE = Path(__file__).resolve().parent / "reference"
PASSWORD = "benchmark password 0123456789"
SCENARIOS = ("get", "list", "create", "health")
TITLES = {
    "get": "GET one order",
    "list": "list orders (20)",
    "create": "create order",
    "health": "/health under load",
}
# generated/raw req/s per scenario; /health is judged on its p99 instead.
TARGET_RATIOS = {"get": 0.6, "list": 0.5, "create": 0.5}
HEALTH_P99_TARGET_MS = 50.0
SERVER_CPU, LOAD_CPU = "0", "1"

# wrk prints one JSON line when a run ends (latencies in microseconds).
WRK_DONE = """
done = function(summary, latency, requests)
  io.write(string.format(
    '\\nPERF {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"status_errors": %d, "socket_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


class PerfError(RuntimeError):
    """The run cannot go on; the message says why."""


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------


def pinned(cpu: str, command: Sequence[str]) -> list[str]:
    return ["taskset", "-c", cpu, *command] if pinning_enabled() else list(command)


def pinning_enabled() -> bool:
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise PerfError(f"{process.args!r} exited with {process.returncode}:\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise PerfError(f"nothing listens on port {port} after {timeout:.0f}s; see {log}")


@contextmanager
def server(
    name: str, command: Sequence[str], *, cwd: Path, env: dict[str, str], port: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process pinned to SERVER_CPU, stopped (SIGTERM, then SIGKILL) on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            pinned(SERVER_CPU, command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, process, log, timeout=60)
        print(f"  {name}: pid {process.pid}, http://127.0.0.1:{port}", flush=True)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(15)


def pids_listening(port: int) -> list[int]:
    """Processes with a TCP socket listening on ``port`` (from /proc; Linux only)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(fields[9])
    return pids_with_sockets(inodes)


def pids_with_sockets(inodes: set[str]) -> list[int]:
    found: list[int] = []
    targets = {f"socket:[{inode}]" for inode in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in targets for fd in (proc / "fd").iterdir()):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def with_children(pids: list[int]) -> list[int]:
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
                parents[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return pids + [pid for pid, parent in parents.items() if parent in pids]


def pin_database(url: str) -> str:
    """Pin a local database server (and its existing children) to LOAD_CPU, away from the apps."""
    if not pinning_enabled():
        return "not pinned (needs taskset and 2 CPUs)"
    parsed = urllib.parse.urlsplit(url)
    pids: list[int] = []
    socket_dir = urllib.parse.parse_qs(parsed.query).get("host", [""])[0]
    if socket_dir and (Path(socket_dir) / "postmaster.pid").exists():
        pids = [int((Path(socket_dir) / "postmaster.pid").read_text().split()[0])]
    elif parsed.hostname in {"127.0.0.1", "localhost", "::1"} and parsed.port:
        pids = pids_listening(parsed.port)
    if not pids:
        return "not pinned (not a local server)"
    pids = with_children(pids)
    for pid in pids:
        subprocess.run(
            ["taskset", "-a", "-p", "-c", LOAD_CPU, str(pid)], capture_output=True, check=False
        )
    return f"pinned to CPU {LOAD_CPU} ({len(pids)} processes)"


# ---------------------------------------------------------------------------------------------
# Databases
# ---------------------------------------------------------------------------------------------


def with_database(url: str, name: str, scheme: str | None = None) -> str:
    """``url`` pointing at database ``name`` (and, for PostgreSQL, a driver scheme)."""
    parsed = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(
        (scheme or parsed.scheme, parsed.netloc, f"/{name}", parsed.query, parsed.fragment)
    )


def admin(python: str, action: str, url: str, name: str) -> None:
    """Create or drop a database with the generated project's drivers (reference/dbadmin.py)."""
    subprocess.run(
        [python, str(REFERENCE / "dbadmin.py"), action, url, name],
        check=True,
        capture_output=True,
        timeout=120,
    )


# ---------------------------------------------------------------------------------------------
# HTTP seeding through the generated API
# ---------------------------------------------------------------------------------------------


@dataclass
class Client:
    port: int
    connection: http.client.HTTPConnection = field(init=False)

    def __post_init__(self) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        expect: int = 200,
    ) -> Any:
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        data = response.read()
        if response.status != expect:
            raise PerfError(f"{method} {path}: {response.status} (expected {expect}): {data!r}")
        return json.loads(data) if data else None

    def json(self, method: str, path: str, payload: Any, token: str | None, expect: int) -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.call(
            method, path, body=json.dumps(payload).encode(), headers=headers, expect=expect
        )


@dataclass
class Account:
    token: str
    order_ids: list[str]


def seed_account(port: int, number: int, orders: int) -> Account:
    """Sign up, sign in and place ``orders`` orders, all through the public API."""
    client = Client(port)
    email = f"bench{number}-{uuid.uuid4().hex[:8]}@example.com"
    client.json(
        "POST",
        "/api/v1/users",
        {"email": email, "password": PASSWORD, "full_name": f"Bench User {number}"},
        None,
        201,
    )
    form = urllib.parse.urlencode({"username": email, "password": PASSWORD}).encode()
    token: str = client.call(
        "POST",
        "/api/v1/users/token",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )["access_token"]
    order_ids = [
        client.json(
            "POST", "/api/v1/orders", {"item": f"item {n}", "quantity": n % 9 + 1}, token, 201
        )["id"]
        for n in range(orders)
    ]
    client.connection.close()
    return Account(token, order_ids)


def seed(port: int, readers: int, writers: int, orders: int) -> tuple[list[Account], list[Account]]:
    with ThreadPoolExecutor(4) as pool:
        accounts = list(
            pool.map(
                lambda n: seed_account(port, n, orders if n < readers else 0),
                range(readers + writers),
            )
        )
    return accounts[:readers], accounts[readers:]


# ---------------------------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------------------------


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is a valid Lua string literal


# (method, path, bearer token, JSON body)
Request = tuple[str, str, str | None, str | None]


def wrk_script(requests: list[Request]) -> str:
    """A script that cycles through (method, path, token, json body) requests."""
    lines = ["local requests = {}", "init = function(args)"]
    for method, path, token, body in requests:
        headers = (
            [f"[{lua_string('Authorization')}] = {lua_string('Bearer ' + token)}"] if token else []
        )
        if body is not None:
            headers.append(f"[{lua_string('Content-Type')}] = {lua_string('application/json')}")
        lines.append(
            f"  requests[#requests + 1] = wrk.format({lua_string(method)}, {lua_string(path)}, "
            f"{{{', '.join(headers)}}}, {lua_string(body) if body is not None else 'nil'})"
        )
    lines += [
        "end",
        "local i = 0",
        "request = function()",
        "  i = i % #requests + 1",
        "  return requests[i]",
        "end",
        WRK_DONE,
    ]
    return "\n".join(lines)


def scenario_requests(readers: list[Account], writers: list[Account]) -> dict[str, list[Request]]:
    get: list[Request] = [
        ("GET", f"/api/v1/orders/{order_id}", account.token, None)
        for n in range(max(len(a.order_ids) for a in readers))
        for account in readers
        if n < len(account.order_ids)
        for order_id in [account.order_ids[n]]
    ]
    page: list[Request] = [
        ("GET", "/api/v1/orders?limit=20", account.token, None) for account in readers
    ]
    create: list[Request] = [
        ("POST", "/api/v1/orders", account.token, json.dumps({"item": f"bench {n}", "quantity": 1}))
        for n, account in enumerate(writers)
    ]
    rounds = zip(get, page * len(get), create * len(get), strict=False)
    mixed = [request for triple in rounds for request in triple]
    return {
        "get": get,
        "list": page,
        "create": create,
        "mixed": mixed,
        "health": [("GET", "/health", None, None)],
    }


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu: float = float("nan")  # the server's CPU seconds per second of the run


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_wrk(script: Path, port: int, connections: int, duration: float) -> subprocess.Popen[str]:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
    ]
    return subprocess.Popen(
        pinned(LOAD_CPU, command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish_wrk(process: subprocess.Popen[str]) -> Sample:
    output, _ = process.communicate(timeout=600)
    for line in output.splitlines():
        if line.startswith("PERF "):
            data = json.loads(line[5:])
            return Sample(
                rps=data["requests"] / (data["duration_us"] / 1e6),
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                errors=data["status_errors"] + data["socket_errors"],
            )
    raise PerfError(f"wrk gave no summary:\n{output}")


def load(
    scripts: dict[str, Path], scenario: str, port: int, pid: int, args: argparse.Namespace
) -> Sample:
    """One measured run; for ``health`` the probe's latency under the mixed load."""
    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    if scenario != "health":
        sample = finish_wrk(start_wrk(scripts[scenario], port, args.connections, args.duration))
    else:
        hammer = start_wrk(scripts["mixed"], port, args.connections, args.duration)
        time.sleep(1)  # let the load build up before probing
        probe = finish_wrk(start_wrk(scripts["health"], port, 1, args.duration - 2))
        background = finish_wrk(hammer)
        sample = Sample(
            background.rps, probe.p50_ms, probe.p99_ms, probe.errors + background.errors
        )
    sample.cpu = (cpu_seconds(pid) - cpu_before) / (time.perf_counter() - started)
    return sample


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(results: dict[str, dict[str, list[Sample]]], header: str) -> tuple[str, bool]:
    lines = [header, ""]
    lines.append(
        f"{'scenario':<20} {'generated req/s':>15} {'p50 ms':>8} {'p99 ms':>8}   "
        f"{'raw req/s':>10} {'p50 ms':>8} {'p99 ms':>8}   {'ratio':>6} {'(range)':>13} "
        f"{'per CPU':>8}  target"
    )
    met = True
    for scenario in SCENARIOS:
        generated, raw = results["generated"].get(scenario), results["raw"].get(scenario)
        if not generated or not raw:
            continue
        pairs = list(zip(generated, raw, strict=True))
        ratios = [g.rps / r.rps for g, r in pairs if r.rps]
        ratio = median(ratios)
        # Requests per CPU-second of each server: what noise on the machine cannot skew.
        per_cpu = median([(g.rps / g.cpu) / (r.rps / r.cpu) for g, r in pairs if g.cpu and r.rps])
        if scenario == "health":
            p99 = median([s.p99_ms for s in generated])
            ok = p99 < HEALTH_P99_TARGET_MS
            target = f"p99 < {HEALTH_P99_TARGET_MS:.0f} ms {'ok' if ok else 'MISSED'}"
        else:
            ok = ratio >= TARGET_RATIOS[scenario]
            target = f">= {TARGET_RATIOS[scenario]} {'ok' if ok else 'MISSED'}"
        met = met and ok
        errors = sum(s.errors for s in generated + raw)
        lines.append(
            f"{TITLES[scenario]:<20} {median([s.rps for s in generated]):>15.0f} "
            f"{median([s.p50_ms for s in generated]):>8.1f} "
            f"{median([s.p99_ms for s in generated]):>8.1f}   "
            f"{median([s.rps for s in raw]):>10.0f} {median([s.p50_ms for s in raw]):>8.1f} "
            f"{median([s.p99_ms for s in raw]):>8.1f}   {ratio:>6.2f} "
            f"{f'({min(ratios):.2f}-{max(ratios):.2f})':>13} {per_cpu:>8.2f}  {target}"
            + (f"  [{errors} errors]" if errors else "")
        )
    lines.append("")
    lines.append(
        "req/s, p50 and p99: medians over rounds; ratio: median of per-round generated/raw "
        "req/s; per CPU: the same ratio of requests per CPU-second of each server (tells a "
        "busy machine from a slow server); /health: 1 probe connection while the other "
        "connections run get/list/create (req/s is that background load)."
    )
    return "\n".join(lines), met


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]} harness"


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("postgres", "mongodb"), default="postgres")
    parser.add_argument(
        "-d",
        "--data",
        action="append",
        default=[],
        metavar="QUESTION=ANSWER",
        help="extra copier answer, e.g. -d layout=domain (repeatable)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds per app and scenario")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--readers", type=int, default=16, help="users whose orders are read")
    parser.add_argument("--orders", type=int, default=25, help="orders per reader")
    parser.add_argument("--writers", type=int, default=16, help="users who place orders")
    parser.add_argument(
        "--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS), metavar="SCENARIO"
    )
    parser.add_argument(
        "--project", type=Path, help="benchmark this rendered project instead of rendering one"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def answers_from(args: argparse.Namespace) -> dict[str, str]:
    answers = {"database": args.database}
    for item in args.data:
        question, sep, answer = item.partition("=")
        if not sep:
            raise SystemExit(f"-d {item!r}: expected QUESTION=ANSWER")
        answers[question] = answer
    if answers["database"] != args.database:
        args.database = answers["database"]
    return answers


def prepare_project(
    args: argparse.Namespace, workdir: Path, answers: dict[str, str]
) -> Path | None:
    if args.project:
        return Path(args.project).resolve()
    project = workdir / "project"
    started = time.perf_counter()
    try:
        render(template_source(workdir), project, answers)
    except Exception as error:
        refusal = refused_by_design(answers, error)
        if refusal is None:
            raise
        print(
            f"{args.database}: not available in this template yet "
            f"(copier refuses {refusal.question}: {refusal.message.strip()})"
        )
        return None
    print(f"rendered {answers} in {time.perf_counter() - started:.1f}s: {project}", flush=True)
    return project


def build_venv(project: Path) -> str:
    python = find_python(required_python(project))
    if python is None:
        raise PerfError(f"no Python >= {required_python(project)} (set GENERATED_PYTHON)")
    started = time.perf_counter()
    run = run_generated_project(project, python, {}, checks=())
    if not run.steps[0].ok:
        raise PerfError(run.steps[0].failure())
    print(f"uv sync in {time.perf_counter() - started:.1f}s", flush=True)
    return str(project / ".venv" / "bin" / "python")


def package_name(project: Path) -> str:
    for line in (project / ".copier-answers.yml").read_text().splitlines():
        if line.startswith("package_name:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    raise PerfError("package_name not found in .copier-answers.yml")


def run(args: argparse.Namespace, workdir: Path, stack: ExitStack) -> int:
    if shutil.which("wrk") is None:
        raise PerfError("wrk not found: apt-get install -y wrk (or brew install wrk)")
    answers = answers_from(args)
    project = prepare_project(args, workdir, answers)
    if project is None:
        return 0
    python = build_venv(project)
    package = package_name(project)

    (workdir / "services").mkdir(exist_ok=True)
    shared = workdir / "shared"
    shared.mkdir(exist_ok=True)
    shared.chmod(0o755)  # pgserver runs PostgreSQL as another user when run as root
    services = Services(workdir / "services", shared, os.environ)
    stack.callback(services.close)

    name = f"bench_{uuid.uuid4().hex[:10]}"
    jwt_issuer, jwt_audience = "perf-bench", "perf-bench-api"
    common = generated_env({}) | {
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_ISSUER": jwt_issuer,
        "JWT_AUDIENCE": jwt_audience,
        "ACCESS_TOKEN_EXPIRE_MINUTES": "120",
        # The seeded writers order without verifying their address first; the check that
        # decides it runs on every create either way (a field and a setting compared).
        "UNVERIFIED_USERS_MAY_ORDER": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    try:
        if args.database == "postgres":
            server_url = services.url(POSTGRES)
            admin(python, "create", server_url, name)
            stack.callback(admin, python, "drop", server_url, name)
            generated_db = {"DATABASE_URL": with_database(server_url, name, "postgresql+asyncpg")}
            raw_db = {"DATABASE_URL": with_database(server_url, name, "postgresql")}
        else:
            server_url = services.url(MONGODB)
            stack.callback(admin, python, "drop", server_url, name)
            # The path of DATABASE_URL names the database, for both apps.
            generated_db = raw_db = {"DATABASE_URL": with_database(server_url, name)}
    except ServiceUnavailable as error:
        raise PerfError(str(error)) from None
    print(f"database {name} on {server_url.split('@')[-1]}: {pin_database(server_url)}", flush=True)

    generated_env_vars = common | generated_db | {"ENVIRONMENT": "production", "LOG_LEVEL": "INFO"}
    if (project / "alembic.ini").exists():
        subprocess.run(
            [python, "-m", "alembic", "upgrade", "head"],
            cwd=project,
            env=generated_env_vars,
            check=True,
            capture_output=True,
        )
        print("migrated to head", flush=True)

    uvicorn = ["-m", "uvicorn", "--host", "127.0.0.1", "--workers", "1"]
    uvicorn += ["--loop", "uvloop", "--http", "httptools", "--no-server-header"]
    ports = {"generated": free_port(), "raw": free_port()}
    pids: dict[str, int] = {}
    pids["generated"] = stack.enter_context(
        server(
            "generated",
            [python, *uvicorn, "--port", str(ports["generated"]), f"{package}.main:app"],
            cwd=project,
            env=generated_env_vars,
            port=ports["generated"],
            log=workdir / "generated.log",
        )
    ).pid
    pids["raw"] = stack.enter_context(
        server(
            "raw",
            [
                python,
                *uvicorn,
                "--port",
                str(ports["raw"]),
                "--app-dir",
                str(REFERENCE),
                f"raw_{args.database}:app",
            ],
            cwd=project,
            env=common | raw_db,
            port=ports["raw"],
            log=workdir / "raw.log",
        )
    ).pid

    started = time.perf_counter()
    readers, writers = seed(ports["generated"], args.readers, args.writers, args.orders)
    print(
        f"seeded {len(readers) + len(writers)} users and {len(readers) * args.orders} orders "
        f"through the generated API in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    scripts: dict[str, Path] = {}
    for scenario, requests in scenario_requests(readers, writers).items():
        scripts[scenario] = workdir / f"{scenario}.lua"
        scripts[scenario].write_text(wrk_script(requests))

    apps = ("generated", "raw")
    if args.warmup > 0:
        for app in apps:
            for scenario in ("get", "list", "create"):
                warm = argparse.Namespace(**vars(args) | {"duration": args.warmup})
                load(scripts, scenario, ports[app], pids[app], warm)
    results: dict[str, dict[str, list[Sample]]] = {app: {} for app in apps}
    for round_number in range(args.rounds):
        order = apps if round_number % 2 == 0 else apps[::-1]
        for scenario in args.scenarios:
            for app in order:
                sample = load(scripts, scenario, ports[app], pids[app], args)
                results[app].setdefault(scenario, []).append(sample)
                print(
                    f"  round {round_number + 1}/{args.rounds} {scenario:<7} {app:<9} "
                    f"{sample.rps:8.0f} req/s  p50 {sample.p50_ms:6.1f} ms  "
                    f"p99 {sample.p99_ms:6.1f} ms  server CPU {sample.cpu:4.0%}"
                    + (f"  {sample.errors} errors" if sample.errors else ""),
                    flush=True,
                )

    layout = answers.get("layout", "default layout")
    header = (
        f"{args.database}, {layout}: {args.rounds} rounds x {args.duration:.0f}s, "
        f"{args.connections} connections, apps on CPU {SERVER_CPU}, wrk and database on "
        f"CPU {LOAD_CPU}; {machine()}"
    )
    text, met = report(results, header)
    print("\n" + text)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "header": header,
                    "results": {
                        app: {s: [vars(x) for x in samples] for s, samples in per.items()}
                        for app, per in results.items()
                    },
                },
                indent=2,
            )
        )
    return 1 if args.check and not met else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="perf-"))
    workdir.chmod(0o755)
    try:
        with ExitStack() as stack:
            return run(args, workdir, stack)
    except PerfError as error:
        print(f"perf: {error}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
