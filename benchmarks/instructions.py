"""CPU instructions per request, generated service against the raw reference, free of noise.

    <project>/.venv/bin/python benchmarks/instructions.py <project>      # about 4 minutes

`perf.py`'s req/s move with whatever else the machine runs; instruction counts do not. This
script runs the same three requests as perf.py (GET one order, list a page of 20, create an
order) in-process through ASGI, one at a time, against a real PostgreSQL (the project's own
`tests/database.py`: pgserver or TEST_DATABASE_URL), under `valgrind --tool=callgrind`. It
counts the instructions of the app's process only (the database server is not traced) for
`--requests` requests after a warm-up, once for the generated app and once for the raw
reference (benchmarks/reference/raw_postgres.py), both in the project's interpreter, and
prints instructions per request and the ratio raw/generated: the share of the generated
service's CPU work that the raw reference needs for the same answer. Sequential calls leave
out what concurrency changes (pool waits, the event loop batching reads), so these ratios
run higher than perf.py's under 64 connections.

Needs valgrind (callgrind_control) and a PostgreSQL project with `queue=background_tasks` (no
broker to start), as perf.py renders by default. The two runs go side by side, one per core.
`PYTHONMALLOC=malloc` for valgrind: absolute counts are higher than with pymalloc; compare
ratios.
"""

import argparse
import asyncio
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).resolve().parent / "reference" / "raw_postgres.py"
SCENARIOS = ("get", "list", "create")
RUNS = ("generated", "raw")
PASSWORD = "correct horse battery staple"
JWT_SECRET = "instructions-benchmark-secret-0123456789-abcdefghij"

ASGIApp = Callable[..., Awaitable[None]]


async def call(app: ASGIApp, method: str, target: str, token: str, body: bytes = b"") -> int:
    """One request through ASGI; its status code."""
    path, _, query = target.partition("?")
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


def callgrind(command: str, name: str | None = None) -> None:
    args = ["callgrind_control", command, *([name] if name else []), str(os.getpid())]
    subprocess.run(args, check=True, capture_output=True)


async def verify_address(
    package: str, client: Any, user_id: str, email: str, settings: Any
) -> None:
    """Verify the reader's address as its welcome e-mail's link would (production settings:
    unverified accounts may not order), with a token made by the project's own code."""
    security = __import__(f"{package}.core.security", fromlist=["create_verification_token"])
    token = security.create_verification_token(uuid.UUID(user_id), email, settings)
    assert (await client.post("/api/v1/users/verify", json={"token": token})).status_code == 204


async def measure(which: str, database_url: str, requests: int) -> None:
    """In the child under valgrind: seed through the generated API, then count `which`."""
    from asgi_lifespan import LifespanManager  # the project's dev dependencies
    from httpx import ASGITransport, AsyncClient

    package = next(p.name for p in (Path.cwd() / "src").iterdir() if (p / "main.py").exists())
    settings_module = __import__(f"{package}.core.config", fromlist=["Settings"])
    main_module = __import__(f"{package}.main", fromlist=["create_app"])
    settings = settings_module.Settings(
        _env_file=None,
        environment="production",
        database_url=database_url,
        jwt_secret=JWT_SECRET,
        log_level="INFO",
    )
    generated = main_module.create_app(settings)
    os.environ.update(
        DATABASE_URL=database_url.replace("postgresql+asyncpg", "postgresql"),
        JWT_SECRET=JWT_SECRET,
        JWT_ISSUER=settings.jwt_issuer,
        JWT_AUDIENCE=settings.jwt_audience,
    )
    spec = importlib.util.spec_from_file_location("raw_postgres", REFERENCE)
    assert spec and spec.loader
    raw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(raw)
    app: ASGIApp = generated if which == "generated" else raw.app

    async with LifespanManager(generated), LifespanManager(raw.app):
        transport = ASGITransport(app=generated)
        async with AsyncClient(transport=transport, base_url="http://bench") as client:
            email = f"reader-{which}@example.com"  # the other run uses the same database
            user = {"email": email, "password": PASSWORD, "full_name": "Reader"}
            signed_up = await client.post("/api/v1/users", json=user)
            assert signed_up.status_code == 201
            await verify_address(package, client, signed_up.json()["id"], email, settings)
            signed_in = await client.post(
                "/api/v1/users/token", data={"username": email, "password": PASSWORD}
            )
            token = signed_in.json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            for _ in range(25):
                order = {"item": "keyboard", "quantity": 1}
                placed = await client.post("/api/v1/orders", json=order, headers=auth)
            order_id = placed.json()["id"]
        cases = {
            "get": ("GET", f"/api/v1/orders/{order_id}", b""),
            "list": ("GET", "/api/v1/orders?limit=20", b""),
            "create": ("POST", "/api/v1/orders", b'{"item":"keyboard","quantity":2}'),
        }
        for scenario in SCENARIOS:
            method, target, body = cases[scenario]
            for _ in range(30):  # warm-up: imports, statement caches, pools
                status = await call(app, method, target, token, body)
            assert status in (200, 201), (which, scenario, status)
            callgrind("-z")
            for _ in range(requests):
                await call(app, method, target, token, body)
            callgrind("-d", scenario)


def start(project: Path, which: str, database_url: str, requests: int, out: Path) -> Any:
    """`which` under callgrind, in the background."""
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}/{which}.%p",
        str(project / ".venv" / "bin" / "python"),
        __file__,
        str(project),
        "--child",
        which,
        "--database-url",
        database_url,
        "--requests",
        str(requests),
    ]
    env = os.environ | {"PYTHONMALLOC": "malloc", "PYTHONPATH": str(project)}
    return subprocess.Popen(
        command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def counted(which: str, requests: int, out: Path) -> dict[str, int]:
    """Instructions per request per scenario, from the dumps of `which`."""
    counts: dict[str, int] = {}
    for dump in out.glob(f"{which}.*.*"):
        text = dump.read_text(errors="replace")
        trigger = re.search(r"^desc: Trigger: .*?(\w+)$", text, re.M)
        total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        if trigger and total and trigger.group(1) in SCENARIOS:
            counts[trigger.group(1)] = int(total.group(1)) // requests
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path, help="a rendered PostgreSQL project, uv-synced")
    parser.add_argument("--requests", type=int, default=100, help="counted per scenario")
    parser.add_argument("--child", choices=("generated", "raw"), help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    project = args.project.resolve()
    sys.path.insert(0, str(project))
    os.chdir(project)

    if args.child:
        import uvloop

        uvloop.run(measure(args.child, args.database_url, args.requests))
        return

    from tests.database import create_test_database  # the project's: pgserver or TEST_ URL

    with create_test_database() as database_url, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        runs = {which: start(project, which, database_url, args.requests, out) for which in RUNS}
        for which, run in runs.items():
            _, errors = run.communicate()
            if run.returncode != 0:
                sys.exit(f"{which} failed under valgrind:\n{errors.decode(errors='replace')}")
        results = {which: counted(which, args.requests, out) for which in RUNS}
    print(f"instructions per request ({args.requests} requests, after 30 warm-up, sequential)")
    print(f"{'scenario':10} {'generated':>12} {'raw':>12} {'raw/generated':>14}")
    for scenario in SCENARIOS:
        generated, raw = results["generated"][scenario], results["raw"][scenario]
        print(f"{scenario:10} {generated:12,} {raw:12,} {raw / generated:14.2f}")


if __name__ == "__main__":
    main()
