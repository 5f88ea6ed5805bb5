"""Shared helpers and fixtures of the template's own suite.

Rendering uses Copier's Python API on a snapshot of the working tree: the files Git would
see (tracked and untracked, minus ignored ones), copied without ``.git``. That is what
``copier copy`` of a dirty local checkout renders, without a throwaway commit per render,
so uncommitted template work is tested as is and two renders are byte-for-byte comparable.
Set ``COPIER_FASTAPI_VCS_REF`` (e.g. ``HEAD`` or a tag) to render from Git at that ref instead.

Any test that takes a ``combo`` argument is parametrised over the full product of the
choices of ``database``, ``queue`` and ``layout`` read from copier.yml.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import copier
import pytest
from _python_root import (
    HOW_TO_GET,
    ca_bundle,
    in_root,
    inside,
    interpreter_version,
    root_of,
    root_pythons,
    socket_dirs,
)
from _python_root import python_version as root_python_version
from _services import Services
from copier.errors import UserMessageError

# Re-exported: the suite's modules take these from here, as before matrix.py held them.
from matrix import COPIER_YML as COPIER_YML
from matrix import MATRIX_QUESTIONS as MATRIX_QUESTIONS
from matrix import choice_values as choice_values
from matrix import combinations as combinations
from matrix import combo_id as combo_id
from matrix import combo_name, parse_combo_name
from matrix import default_answers as default_answers
from matrix import load_questions as load_questions

REPO = Path(__file__).resolve().parents[1]
TEST_SERVICE_VARS = ("TEST_DATABASE_URL", "TEST_REDIS_URL", "TEST_MONGODB_URL")


# ---------------------------------------------------------------------------------------------
# Combinations: every test that takes ``combo`` runs once per combination; one CI job per
# combination selects its own with ``--combination``, and one more job runs the rest.
# ---------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("copier-fastapi")
    group.addoption(
        "--combination",
        action="append",
        default=[],
        metavar="DATABASE/QUEUE/LAYOUT",
        help="run only the tests of this combination (e.g. postgres/celery/domain); repeatable",
    )
    group.addoption(
        "--without-combinations",
        action="store_true",
        help="run only the tests that are not run once per combination",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "combo" in metafunc.fixturenames:
        combos = combinations()
        metafunc.parametrize("combo", combos, ids=[combo_id(combo) for combo in combos])


def combo_of(item: pytest.Item) -> dict[str, str] | None:
    """The combination a collected test runs for, or None when it is not run per combination."""
    callspec = getattr(item, "callspec", None)
    combo = callspec.params.get("combo") if callspec is not None else None
    return combo if isinstance(combo, dict) else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    select_combinations(config, items)
    # Longest first (slow tests take 10 s to 3 min, the others seconds): with pytest-xdist's
    # one-at-a-time dispatch (--maxschedchunk=1 in pyproject.toml) no worker is left with a
    # generated suite to run while the other has nothing, and the run ends with short tests.
    # Every worker sorts its collection the same way, as xdist requires.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def select_combinations(config: pytest.Config, items: list[pytest.Item]) -> None:
    names: list[str] = config.getoption("combination")
    without: bool = config.getoption("without_combinations")
    if not names and not without:
        return
    if names and without:
        raise pytest.UsageError("--combination and --without-combinations exclude each other")
    try:
        wanted = {combo_name(parse_combo_name(name)) for name in names}
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        combo = combo_of(item)
        selected = combo is None if without else combo is not None and combo_name(combo) in wanted
        (keep if selected else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateSource:
    """Where Copier reads the template from: a path, and a Git ref or ``None`` for none."""

    path: str
    vcs_ref: str | None = None


def snapshot_template(dst: Path) -> TemplateSource:
    """Copy the working tree as Git sees it (tracked + untracked, minus ignored) into ``dst``."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        shutil.copytree(
            REPO,
            dst,
            symlinks=True,
            ignore=shutil.ignore_patterns(".git", ".venv", ".cache", "__pycache__", "*_cache"),
        )
        return TemplateSource(str(dst))
    dst.mkdir(parents=True, exist_ok=True)
    for relative in filter(None, listed.split("\0")):
        source = REPO / relative
        if not source.is_symlink() and not source.exists():
            continue  # deleted in the working tree, not yet in the index
        target = dst / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    return TemplateSource(str(dst))


def template_source(workdir: Path) -> TemplateSource:
    vcs_ref = os.environ.get("COPIER_FASTAPI_VCS_REF")
    if vcs_ref:
        return TemplateSource(str(REPO), vcs_ref)
    return snapshot_template(workdir / "template-snapshot")


def render(
    source: TemplateSource, dst: Path, answers: Mapping[str, Any], *, pretend: bool = False
) -> Path:
    """Render the template non-interactively: ``answers`` plus defaults for the rest."""
    copier.run_copy(
        src_path=source.path,
        dst_path=str(dst),
        data=dict(answers),
        defaults=True,
        unsafe=True,  # _jinja_extensions
        quiet=True,
        pretend=pretend,
        vcs_ref=source.vcs_ref,
    )
    return dst


_VALIDATION_ERROR = re.compile(
    r"Validation error for question '(?P<question>[^']+)': (?P<message>.*)", re.S
)


@dataclass(frozen=True)
class Refusal:
    """A copier.yml validator said no."""

    question: str
    message: str


_ANSWER_KEPT = re.compile(r"(?P<question>[a-z_]+): (?P<message>changing .*)", re.S)


def refusal_of(error: BaseException) -> Refusal | None:
    """The refusal carried by Copier's error, or ``None`` when the error is something else.

    A validator's refusal is Copier's ``ValueError``; a changed answer that an update must keep
    is refused earlier with Copier's ``UserMessageError`` (one line on the CLI).
    """
    if isinstance(error, UserMessageError):
        kept = _ANSWER_KEPT.fullmatch(error.message.strip())
        return None if kept is None else Refusal(kept["question"], error.message.strip())
    if not isinstance(error, ValueError):
        return None
    match = _VALIDATION_ERROR.fullmatch(str(error).strip())
    if match is None:
        return None
    return Refusal(match["question"], match["message"])


def assert_refusal(error: BaseException, question: str, words: Sequence[str] = ()) -> None:
    """Copier refused the answer to ``question``, in a message that names it and says ``words``."""
    refusal = refusal_of(error)
    assert refusal is not None, f"not a validation error: {error!r}"
    assert refusal.question == question, str(error)
    assert refusal.message.startswith(f"{question}:"), str(error)
    for word in words:
        assert word in refusal.message, str(error)


def refused_by_design(answers: Mapping[str, Any], error: BaseException) -> Refusal | None:
    """A refusal that names one of the matrix questions and the value it got, else ``None``."""
    refusal = refusal_of(error)
    if refusal is None or refusal.question not in answers:
        return None
    if (
        refusal.question not in refusal.message
        or str(answers[refusal.question]) not in refusal.message
    ):
        return None
    return refusal


def rendered_files(project: Path) -> list[Path]:
    return sorted(path for path in project.rglob("*") if path.is_file() or path.is_symlink())


def tree_bytes(project: Path) -> dict[str, tuple[bytes, bool]]:
    """Relative path -> (content, executable) of every rendered file."""
    return {
        path.relative_to(project).as_posix(): (path.read_bytes(), os.access(path, os.X_OK))
        for path in rendered_files(project)
    }


class Renderer(Protocol):
    def __call__(self, answers: Mapping[str, Any], dst: Path | None = None) -> Path: ...


def render_or_skip(renderer: Renderer, answers: Mapping[str, Any]) -> Path:
    """Render ``answers``; skip the test when copier.yml refuses them on purpose."""
    try:
        return renderer(answers)
    except Exception as error:
        refusal = refused_by_design(answers, error)
        if refusal is None:
            raise
        pytest.skip(f"refused by copier.yml: {refusal.message}")


@pytest.fixture(scope="session")
def template_src(tmp_path_factory: pytest.TempPathFactory) -> TemplateSource:
    return template_source(tmp_path_factory.mktemp("template"))


@pytest.fixture
def render_project(template_src: TemplateSource, tmp_path: Path) -> Renderer:
    """``render_project(answers)`` renders into a fresh directory below this test's tmp_path."""
    counter = itertools.count()

    def _render(answers: Mapping[str, Any], dst: Path | None = None) -> Path:
        return render(template_src, dst or tmp_path / f"project{next(counter)}", answers)

    return _render


# ---------------------------------------------------------------------------------------------
# Running a generated project's own checks
# ---------------------------------------------------------------------------------------------


def uv_binary() -> str:
    """uv: the one running this suite (``uv run`` sets ``UV``), else the one on PATH."""
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        pytest.fail(
            "uv not found: install it (`pip install uv`) and run `uv run pytest`", pytrace=False
        )
    return found


def uv_cache_dir() -> Path:
    """One uv cache for every generated project of the run, so installs are reused."""
    return Path(os.environ.get("UV_CACHE_DIR") or REPO / ".cache" / "uv")


def _python_version(executable: str) -> tuple[int, int] | None:
    return interpreter_version([executable])


def pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def exact_pythons(minimum: str) -> list[str]:
    """Candidates for exactly Python ``minimum``: pyenv's builds, PATH, then a Debian root."""
    return [
        *map(
            str,
            sorted(pyenv_root().glob(f"versions/{minimum}.*/bin/python{minimum}"), reverse=True),
        ),
        *filter(None, [shutil.which(f"python{minimum}")]),
        *map(str, root_pythons(minimum)),
    ]


def python_version_of(executable: str) -> tuple[int, int] | None:
    """The version of an interpreter that starts (here, or in its Debian root), else ``None``."""
    if root_of(executable) is not None:
        return root_python_version(Path(executable))
    return _python_version(executable)


def find_python(minimum: str, *, exact: bool = False) -> str | None:
    """An interpreter for a generated project whose requires-python is ``>=minimum``.

    Prefers exactly ``minimum`` (the floor the project promises), then any newer one; with
    ``exact``, only ``minimum`` itself. ``GENERATED_PYTHON`` overrides the search (with
    ``exact``, only when it is that version). Looks in pyenv's versions folder, on PATH and in
    the Debian roots ``.ci/run`` makes (tests/_python_root.py).
    """
    wanted = tuple(int(part) for part in minimum.split("."))
    override = os.environ.get("GENERATED_PYTHON")
    if override and (not exact or python_version_of(override) == wanted):
        return override
    base = str(getattr(sys, "_base_executable", sys.executable))
    for candidate in [*exact_pythons(minimum), base]:
        if python_version_of(candidate) == wanted:
            return candidate
    if exact:
        return None
    newer = sorted(pyenv_root().glob("versions/3.*/bin/python3"), reverse=True)
    for candidate in [base, *map(str, newer)]:
        version = _python_version(candidate)
        if version is not None and version >= wanted:
            return candidate
    return None


def how_to_get_python(version: str) -> str:
    """One line: how to give this suite Python ``version``."""
    if version in HOW_TO_GET:
        return HOW_TO_GET[version]
    return (
        f"`pyenv install {version}` (found in $(pyenv root)/versions), put python{version} on "
        f"PATH, or set GENERATED_PYTHON=/path/to/python{version}"
    )


def required_python(project: Path) -> str:
    """The minimum Python of a generated project: ``3.11`` from ``requires-python = ">=3.11"``."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    requires: str = pyproject["project"]["requires-python"]
    return requires.removeprefix(">=").strip()


# Not passed on to generated projects. PYTHONDONTWRITEBYTECODE (set on some CI images): a
# generated project's virtual environment is new, so without the bytecode it writes, every
# Python process its suite starts (replicas, workers, servers) compiles every module it imports.
_NOT_INHERITED = frozenset(
    {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE", "UV_PYTHON"}
)


def generated_env(extra: Mapping[str, str]) -> dict[str, str]:
    """Environment for commands inside a generated project: nothing of this suite's leaks in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "UV_PROJECT", "COPIER_FASTAPI"))
        and key not in _NOT_INHERITED | set(TEST_SERVICE_VARS)
    }
    env.update(
        UV_CACHE_DIR=str(uv_cache_dir()),
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
        NO_COLOR="1",
    )
    mypy_cache = mypy_cache_dir()
    if mypy_cache is not None:
        env["MYPY_CACHE_DIR"] = str(mypy_cache)
    env.update(extra)
    return env


def mypy_cache_dir() -> Path | None:
    """One mypy cache per xdist worker for the run's generated projects, else ``None``.

    mypy still checks every module of a project whose source differs from what the cache
    holds; what a later project reuses is mostly the libraries' analysis (docs/performance.md,
    "The template's suite"). Per worker, because two mypy processes must not write one cache.
    """
    run = os.environ.get(RUN_DIR_VAR)
    if not run:
        return None
    return Path(run) / f"mypy-cache-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@dataclass
class StepResult:
    name: str
    command: Sequence[str]
    returncode: int
    seconds: float
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def failure(self, max_lines: int = 80) -> str:
        """The tool's output, cut to fit: for pytest its failures' start and its summary."""
        lines = self.output.rstrip().splitlines()
        first = next((i for i, line in enumerate(lines) if _PYTEST_FAILURES.match(line)), None)
        summary = next((i for i, line in enumerate(lines) if _PYTEST_SUMMARY.match(line)), None)
        if first is not None and summary is not None and first < summary:
            tail = lines[summary:][-(max_lines // 3) :]
            body = lines[first:summary]
            room = max(max_lines - len(tail), 10)
            if len(body) > room:
                body = [*body[:room], f"[... {len(body) - room} lines of failures left out ...]"]
            shown = [f"({first} lines before the failures left out)", *body, *tail]
        elif len(lines) > max_lines:
            shown = [f"(last {max_lines} of {len(lines)} lines)", *lines[-max_lines:]]
        else:
            shown = lines
        command = " ".join(self.command)
        body_text = "\n".join(shown)
        return f"--- {self.name} failed (exit {self.returncode}): {command}\n{body_text}"


_PYTEST_FAILURES = re.compile(r"^=+ (FAILURES|ERRORS) =+$")
_PYTEST_SUMMARY = re.compile(r"^=+ short test summary info =+$")


def run_step(
    name: str, command: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float
) -> StepResult:
    """Run one command; on timeout its whole process group goes (servers a suite started too)."""
    started = time.perf_counter()
    with subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=timeout)
            returncode = process.returncode
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            output += f"\n[timed out after {timeout:.0f}s]"
            returncode = -1
    return StepResult(name, command, returncode, time.perf_counter() - started, output)


# (name, command after `uv`, timeout in seconds); run in the generated project after `uv sync`.
GENERATED_CHECKS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("ruff check", ("run", "--no-sync", "ruff", "check", "."), 300),
    ("ruff format", ("run", "--no-sync", "ruff", "format", "--check", "."), 300),
    ("mypy", ("run", "--no-sync", "mypy"), 600),
    ("pytest", ("run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short"), 600),
)


@dataclass
class GeneratedRun:
    """What happened in one generated project: every step, in order."""

    project: Path
    steps: list[StepResult] = field(default_factory=list)

    @property
    def timings(self) -> dict[str, float]:
        return {step.name: round(step.seconds, 1) for step in self.steps}

    def assert_ok(self) -> None:
        failed = [step for step in self.steps if not step.ok]
        if failed:
            pytest.fail(
                f"generated project {self.project}: {', '.join(s.name for s in failed)} failed\n"
                + "\n\n".join(
                    step.failure(200 if step.name in PYTEST_STEPS else 60) for step in failed
                ),
                pytrace=False,
            )


# The steps that run a generated project's pytest: theirs is the long output worth showing.
PYTEST_STEPS = frozenset({"pytest", "make test"})


def run_generated_project(
    project: Path,
    python: str,
    extra_env: Mapping[str, str],
    checks: Sequence[tuple[str, tuple[str, ...], float]] = GENERATED_CHECKS,
    *,
    readme_commands: Sequence[str] = (),
) -> GeneratedRun:
    """``uv sync`` then every check; stops after a failed sync, else runs all checks.

    With ``readme_commands`` (the generated README's, in its order: ``uv sync``, ``make test``,
    ``make check``), those run instead, as written, with bash and ``UV_PYTHON`` naming
    ``python``; stops after a failed first command (the install), else runs them all.
    """
    uv = uv_binary()
    # Its own temporary directory: a pytest there resets <tmp>/pytest-of-<user> to 0700
    # at start, which must not cut off another suite's PostgreSQL (see make_run_dir). Short,
    # because PostgreSQL's unix socket goes below it and socket paths are limited to 107 bytes.
    tmpdir = Path(tempfile.mkdtemp(prefix="cf-"))
    tmpdir.chmod(0o755)
    env = generated_env({"TMPDIR": str(tmpdir), **extra_env})
    wrap: Callable[[Sequence[str]], list[str]] = list
    root = root_of(python)
    if root is not None:  # an interpreter of a Debian root: commands run inside it
        binds: list[str | Path] = [project, tmpdir, uv_cache_dir(), uv, *socket_dirs(env)]
        bundle = ca_bundle(env)
        binds += [] if bundle is None else [bundle]
        python = inside(root, python)
        wrap = functools.partial(in_root, root, cwd=project, binds=binds)
        env.pop("MYPY_CACHE_DIR", None)  # not bound into the root; two runs there, cold anyway
    steps: list[tuple[str, Sequence[str], float]]
    if readme_commands:
        env["UV_PYTHON"] = python
        steps = [(command, ("bash", "-c", command), 1800) for command in readme_commands]
    else:
        steps = [
            ("uv sync", (uv, "sync", "--python", python), 600),
            *((name, (uv, *args), timeout) for name, args, timeout in checks),
        ]
    try:
        return _run_generated_project(project, env, steps, wrap)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _run_generated_project(
    project: Path,
    env: Mapping[str, str],
    steps: Sequence[tuple[str, Sequence[str], float]],
    wrap: Callable[[Sequence[str]], list[str]],
) -> GeneratedRun:
    """The first step installs: nothing else runs after it failed."""
    run = GeneratedRun(project)
    for name, command, timeout in steps:
        run.steps.append(run_step(name, wrap(command), project, env, timeout))
        if not run.steps[0].ok:
            break
    return run


# ---------------------------------------------------------------------------------------------
# Run directory (servers' data, generated projects) and servers
# ---------------------------------------------------------------------------------------------
#
# Generated projects and PostgreSQL's data live in one directory per run, outside
# pytest-of-<user>: pgserver runs PostgreSQL as another user when run as root, which must
# traverse every parent directory, and every root pytest that starts (a generated suite, for
# one) resets pytest-of-root to 0700. The three newest run directories are kept for a look.

RUN_DIR_VAR = "_COPIER_FASTAPI_RUN_DIR"
KEEP_RUNS = 3


def runs_root() -> Path:
    return Path(tempfile.gettempdir()) / f"copier-fastapi-of-{os.getuid()}"


def make_run_dir() -> Path:
    root = runs_root()
    root.mkdir(mode=0o755, exist_ok=True)
    if root.stat().st_uid != os.getuid():  # someone else's: do not use a predictable name
        root = Path(tempfile.mkdtemp(prefix="copier-fastapi-"))
    root.chmod(0o755)
    run = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    run.chmod(0o755)
    older = sorted(root.glob("run-*"), key=lambda path: path.stat().st_mtime)[:-KEEP_RUNS]
    for old in older:
        if old != run:
            shutil.rmtree(old, ignore_errors=True)
    return run


def pytest_configure(config: pytest.Config) -> None:
    # pytest-copie's `copie` fixture renders --template (default: the current directory).
    template = getattr(config.option, "template", None)
    if template is not None and Path(template).resolve() == Path.cwd().resolve():
        config.option.template = str(REPO)
    # The controller (or a run without xdist) makes the run directory; the xdist workers it
    # starts inherit it through the environment.
    if not hasattr(config, "workerinput") and RUN_DIR_VAR not in os.environ:
        os.environ[RUN_DIR_VAR] = str(make_run_dir())
        config.stash[_run_dir_key] = True


_run_dir_key = pytest.StashKey[bool]()


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(_run_dir_key, False):
        os.environ.pop(RUN_DIR_VAR, None)


@pytest.fixture(scope="session")
def run_dir() -> Path:
    """This run's directory, shared by all xdist workers (world-traversable)."""
    return Path(os.environ.get(RUN_DIR_VAR) or make_run_dir())


@pytest.fixture
def generated_dir(run_dir: Path, request: pytest.FixtureRequest) -> Path:
    """An empty directory for this test's generated project(s), in the run directory."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")[:80]
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=run_dir))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def services(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    shared = run_dir / "shared"
    shared.mkdir(mode=0o755, exist_ok=True)
    started = Services(tmp_path_factory.mktemp("services"), shared, os.environ)
    yield started
    started.close()


# ---------------------------------------------------------------------------------------------
# Timings: each test records {"timings": {step: seconds}}; printed at the end of the run
# ---------------------------------------------------------------------------------------------


_started_key = pytest.StashKey[float]()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_started_key] = time.perf_counter()


def _test_reports(terminalreporter: Any) -> list[Any]:
    return [
        report
        for outcome in ("passed", "failed", "skipped", "error")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "when", None) in {"setup", "call", "teardown"}
    ]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Each test's steps, then where the run's time went: steps, combinations, slowest tests,
    and how busy each xdist worker was (idle time is time the schedule lost)."""
    rows: list[tuple[str, str, dict[str, float]]] = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", None) != "call":
                continue
            for key, value in report.user_properties:
                if key == "timings":
                    rows.append((report.nodeid, outcome, value))
    if not rows:
        return
    terminalreporter.section("copier-fastapi timings (seconds)")
    for nodeid, outcome, timings in sorted(rows):
        steps = "  ".join(f"{name}={seconds:.1f}" for name, seconds in timings.items())
        name = nodeid.split("::", 1)[-1]
        terminalreporter.write_line(f"{name:<70} {outcome:<6} {steps}")
    for line in time_breakdown(rows, _test_reports(terminalreporter), config):
        terminalreporter.write_line(line)


def time_breakdown(
    rows: Sequence[tuple[str, str, Mapping[str, float]]],
    reports: Sequence[Any],
    config: pytest.Config,
) -> list[str]:
    """The end-of-run breakdown, in lines (seconds of test time, not of wall clock)."""
    lines: list[str] = []
    steps: dict[str, list[float]] = {}
    for _, _, timings in rows:
        for name, seconds in timings.items():
            if name != "total" and not name.startswith("python "):
                steps.setdefault(name, []).append(seconds)
    lines.append("")
    lines.append("steps, summed over the run:")
    for name, times in sorted(steps.items(), key=lambda item: -sum(item[1])):
        runs = f"{len(times)} run" + ("s" if len(times) > 1 else "")
        lines.append(f"  {name:<30} {sum(times):8.1f}  ({runs})")

    per_test: dict[str, float] = {}
    per_worker: dict[str, float] = {}
    for report in reports:
        per_test[report.nodeid] = per_test.get(report.nodeid, 0.0) + report.duration
        worker = getattr(getattr(getattr(report, "node", None), "gateway", None), "id", "main")
        per_worker[worker] = per_worker.get(worker, 0.0) + report.duration
    per_combination = {combo_name(combo): 0.0 for combo in combinations()}
    ids = {combo_name(combo): combo_id(combo) for combo in combinations()}
    for nodeid, seconds in per_test.items():
        for name, combination in ids.items():
            if f"[{combination}" in nodeid or f"-{combination}]" in nodeid:
                per_combination[name] += seconds
    lines.append("combinations, slowest first (all of each one's tests):")
    ran = [(name, seconds) for name, seconds in per_combination.items() if seconds > 0]
    for name, seconds in sorted(ran, key=lambda item: -item[1])[:8]:
        lines.append(f"  {name:<40} {seconds:8.1f}")
    lines.append("slowest tests (setup, call and teardown):")
    for nodeid, seconds in sorted(per_test.items(), key=lambda item: -item[1])[:10]:
        lines.append(f"  {nodeid.split('::', 1)[-1]:<70} {seconds:8.1f}")
    started = config.stash.get(_started_key, None)
    if started is not None:
        wall = time.perf_counter() - started
        busy = "  ".join(f"{w}={s:.0f}" for w, s in sorted(per_worker.items()))
        idle = len(per_worker) * wall - sum(per_worker.values())
        lines.append(
            f"workers: {wall:.0f} s of wall clock; busy {busy}; idle {idle:.0f} s in all "
            "(startup, collection, the end of the schedule)"
        )
    return lines
