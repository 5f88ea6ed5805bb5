"""User journeys, run with the commands the documents give, read from the documents themselves.

A user clones the template, renders a service with README.md's command, commits it, and later,
when the template has a newer release, updates the service with the command of README.md (and of
the generated README), or follows docs/updating.md step by step. Here the "clone" is a Git
clone of a repository made from the working tree (uncommitted template work included, as
everywhere in this suite) and tagged with the newest CHANGELOG.md release; the newer release is
a commit and a tag made in that clone, as a maintainer would.

Copier comes the way the documents say: ``uvx`` for the render and docs/updating.md's
``uv tool install`` (into this test's own tool directory) for the rest.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import copier
import pytest
import yaml
from _doc_commands import DocCommand, command_starting, commands_of, extract_file
from conftest import (
    REPO,
    find_python,
    generated_env,
    snapshot_template,
    uv_binary,
    uv_cache_dir,
)
from test_update import commit_all, commit_release, current_release, git, helpers_module

README_JOURNEY = "tests/test_journeys.py::test_readme_render_then_update"
GUIDE_JOURNEY = "tests/test_journeys.py::test_updating_guide_journey"
NEXT = ("99.0.0", "99.1.0")  # releases the journeys make after the current one
GIT_USER = {
    "GIT_AUTHOR_NAME": "Journey Test",
    "GIT_AUTHOR_EMAIL": "journey@example.com",
    "GIT_COMMITTER_NAME": "Journey Test",
    "GIT_COMMITTER_EMAIL": "journey@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def template_commands(document: str) -> list[DocCommand]:
    return extract_file(REPO / document, document)


# ---------------------------------------------------------------------------------------------
# Running documented commands
# ---------------------------------------------------------------------------------------------


@dataclass
class Shell:
    """Runs documented commands with bash, as written, and remembers which it ran."""

    env: dict[str, str]
    ran: list[str] = field(default_factory=list)

    def run(self, command: str, cwd: Path, timeout: float = 600) -> str:
        started = time.perf_counter()
        completed = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.ran.append(command)
        output = completed.stdout + completed.stderr
        if completed.returncode != 0:
            pytest.fail(
                f"documented command failed (exit {completed.returncode}, "
                f"{time.perf_counter() - started:.0f}s) in {cwd}:\n$ {command}\n{output[-6000:]}",
                pytrace=False,
            )
        return output


@pytest.fixture(scope="session")
def template_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as its maintainers publish it: the working tree, tagged with its release."""
    repo = tmp_path_factory.mktemp("published") / "copier-fastapi"
    repo.mkdir()
    git("init", "--quiet", cwd=repo)
    snapshot_template(repo)
    commit_release(repo, current_release())
    return repo


@pytest.fixture(scope="session")
def copier_tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """docs/updating.md's install command, run as written into a tool directory of our own."""
    command = command_starting(template_commands("docs/updating.md"), "uv tool install")
    home = tmp_path_factory.mktemp("tools")
    env = journey_env(home / "bin", {"UV_TOOL_DIR": str(home / "tools")})
    env["UV_TOOL_BIN_DIR"] = str(home / "bin")
    Shell(env).run(command, home)
    assert (home / "bin" / "copier").exists(), "uv tool install put no copier in UV_TOOL_BIN_DIR"
    yield home / "bin"


def journey_env(bin_dir: Path, extra: Mapping[str, str] = {}) -> dict[str, str]:
    """A user's shell: the tools the documents install first on PATH, nothing of this suite."""
    env = generated_env({**GIT_USER, **extra})
    suite_bin = str(Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin")
    path = [part for part in env.get("PATH", "").split(os.pathsep) if part and part != suite_bin]
    uv_dir = str(Path(uv_binary()).parent)  # uv and uvx, as on a user's PATH
    env["PATH"] = os.pathsep.join([str(bin_dir), *path, uv_dir])
    python = find_python("3.11")
    if python is not None:
        env["UV_PYTHON"] = python
    env["UV_CACHE_DIR"] = str(uv_cache_dir())
    return env


@dataclass
class Journey:
    root: Path  # holds checkout/, elsewhere/ and my-service/
    checkout: Path
    service: Path
    shell: Shell


@pytest.fixture
def journey(template_repository: Path, copier_tool: Path) -> Iterator[Journey]:
    root = Path(tempfile.mkdtemp(prefix="journey-"))
    try:
        checkout = root / "checkout"
        git("clone", "--quiet", str(template_repository), str(checkout), cwd=root)
        (root / "elsewhere").mkdir()
        tmp = root / "tmp"
        tmp.mkdir()
        shell = Shell(journey_env(copier_tool, {"TMPDIR": str(tmp)}))
        yield Journey(root, checkout, root / "my-service", shell)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def release_a_change(checkout: Path, version: str) -> str:
    """A new template release: a line every generated project gets, committed and tagged."""
    line = f"Added by the template release {version}."
    readme = checkout / "template" / "README.md.jinja"
    text = readme.read_text(encoding="utf-8")
    anchor = "\n## Everyday commands\n"
    assert text.count(anchor) == 1
    readme.write_text(text.replace(anchor, f"\n{line}\n{anchor}"), encoding="utf-8")
    commit_release(checkout, version)
    return line


def recorded(service: Path) -> dict[str, object]:
    answers: dict[str, object] = yaml.safe_load(
        (service / ".copier-answers.yml").read_text(encoding="utf-8")
    )
    return answers


# ---------------------------------------------------------------------------------------------
# README.md: render, then update
# ---------------------------------------------------------------------------------------------

# Where the render command runs, and what it names instead of `.` (README: "from elsewhere,
# give the repository's path or Git URL instead of `.`").
SOURCES: dict[str, tuple[str, Callable[[Journey], str]]] = {
    "in-checkout": ("checkout", lambda j: "."),
    "relative-path": ("elsewhere", lambda j: "../checkout"),
    "git-url": ("elsewhere", lambda j: f"file://{j.checkout}/.git"),
}


def render_with_readme_command(journey: Journey, variant: str) -> None:
    command = command_starting(template_commands("README.md"), "uvx ")
    cwd_name, source = SOURCES[variant]
    assert command.count(" . ") == 1, command
    journey.shell.run(command.replace(" . ", f" {source(journey)} "), journey.root / cwd_name)
    if variant == "in-checkout":
        journey.shell.ran[-1] = command  # ran exactly as written


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(SOURCES))
def test_readme_render_then_update(journey: Journey, variant: str) -> None:
    """README.md's render command, then its update commands (and the generated README's) in
    the service: the update succeeds and lands the new release."""
    render_with_readme_command(journey, variant)
    service = journey.service
    assert recorded(service)["_commit"] == current_release()
    source = str(recorded(service)["_src_path"])
    commit_all(service, "copier copy")
    line = release_a_change(journey.checkout, NEXT[0])

    readme = commands_of(template_commands("README.md"), README_JOURNEY)
    update_commands = [c.text for c in readme if c.text.startswith("copier ")]
    outputs = [journey.shell.run(command, service) for command in update_commands]

    assert any(f"latest version is {NEXT[0]}" in output for output in outputs), outputs
    assert recorded(service)["_commit"] == NEXT[0]
    assert line in (service / "README.md").read_text(encoding="utf-8")
    if variant == "git-url":
        assert source == f"file://{journey.checkout}/.git"
    else:  # a relative path, made absolute: the project names the template from anywhere
        assert Path(source).is_absolute() and Path(source).resolve() == journey.checkout.resolve()
    if variant == "in-checkout":
        assert {c.text for c in readme} <= set(journey.shell.ran)
    # The generated README gives the same update command (its words; README.md's line also
    # carries a comment), so running README.md's ran the generated README's too.
    generated = commands_of(extract_file(service / "README.md", "README.md"), README_JOURNEY)
    assert generated
    assert {words(c.text) for c in generated} <= {words(text) for text in update_commands}


def words(command: str) -> tuple[str, ...]:
    return tuple(shlex.split(command, comments=True))


# ---------------------------------------------------------------------------------------------
# docs/updating.md, step by step, then the project's own checks
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_updating_guide_journey(
    journey: Journey, record_property: Callable[[str, object], None]
) -> None:
    """docs/updating.md: install Copier, check for a release, update, review, check, commit.

    As on a user's machine, no TEST_* variable: the guide's `make check test` proves that the
    generated suite starts its own PostgreSQL (the one run of the template's suite that does).
    """
    started = time.perf_counter()
    render_with_readme_command(journey, "in-checkout")
    service = journey.service
    assert recorded(service)["database"] == "postgres", "the defaults' database changed"
    assert not {name for name in journey.shell.env if name.startswith("TEST_")}
    commit_all(service, "copier copy")
    line = release_a_change(journey.checkout, NEXT[1])

    guide = commands_of(template_commands("docs/updating.md"), GUIDE_JOURNEY)
    for command in guide:
        if command.text.startswith("uv tool install"):
            continue  # the copier_tool fixture ran it, as written
        output = journey.shell.run(command.text, service, timeout=1800)
        if command.text.startswith("copier check-update"):
            assert f"latest version is {NEXT[1]}" in output, output

    assert recorded(service)["_commit"] == NEXT[1]
    assert line in (service / "README.md").read_text(encoding="utf-8")
    assert git("status", "--porcelain", cwd=service) == "", "the guide's commit left changes"
    assert NEXT[1] in git("log", "-1", "--format=%s", cwd=service)
    skipped = {c.text for c in guide if c.text.startswith("uv tool install")}
    assert {c.text for c in guide} - skipped <= set(journey.shell.ran)
    record_property("timings", {"total": round(time.perf_counter() - started, 1)})


# ---------------------------------------------------------------------------------------------
# Fast: what the journeys rely on
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", [".", "./checkout", "../elsewhere/../checkout"])
def test_a_relative_template_path_is_recorded_absolute(
    template_repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    """`_src_path` names the template from anywhere: `copier update` runs in the project."""
    checkout = tmp_path / "checkout"
    git("clone", "--quiet", str(template_repository), str(checkout), cwd=tmp_path)
    (tmp_path / "elsewhere").mkdir()
    cwd = {".": checkout, "./checkout": tmp_path, "../elsewhere/../checkout": checkout}[given]
    monkeypatch.chdir(cwd)
    copier.run_copy(given, str(tmp_path / "service"), defaults=True, unsafe=True, quiet=True)

    assert recorded(tmp_path / "service")["_src_path"] == str(checkout)


@pytest.mark.parametrize(
    "given", ["gh:someone/copier-fastapi", "https://example.com/t.git", "git@host:t.git", "~/t"]
)
def test_urls_and_home_paths_are_recorded_as_given(given: str) -> None:
    assert helpers_module().absolute_template_source(given) == given
