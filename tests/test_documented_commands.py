"""Every command the documentation tells users to run is run by a test as written, or marked.

Documents: README.md, CONTRIBUTING.md, docs/*.md and the README of a generated project
(rendered for every (database, queue) pair). What counts as a documented command and how a
document marks one is in tests/_doc_commands.py. This module

* fails when a command is neither run nor marked with a covering test that exists;
* runs the generated README's unmarked commands (``uv sync``, ``make test``, ``make check``)
  in one rendered project per database, against real servers.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import copier
import pytest
from _doc_commands import DocCommand, Marker, extract, extract_file
from _services import Services, ServiceUnavailable
from conftest import (
    REPO,
    TemplateSource,
    choice_values,
    combo_id,
    find_python,
    generated_env,
    render,
    required_python,
)
from test_update import helpers_module

TEMPLATE_DOCUMENTS = (
    "README.md",
    "CONTRIBUTING.md",
    *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md")),
)


def template_commands() -> list[DocCommand]:
    return [c for document in TEMPLATE_DOCUMENTS for c in extract_file(REPO / document, document)]


def render_readme(source: TemplateSource, dst: Path, answers: dict[str, str]) -> str:
    """The generated README.md alone (every other file excluded: fast)."""
    copier.run_copy(
        src_path=source.path,
        dst_path=str(dst),
        data=answers,
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref=source.vcs_ref,
        exclude=["*", "!README.md"],
    )
    return (dst / "README.md").read_text(encoding="utf-8")


def readme_answers() -> list[dict[str, str]]:
    """Every (database, queue) pair: what the generated README's commands depend on."""
    return [
        {"database": database, "queue": queue}
        for database in choice_values("database")
        for queue in choice_values("queue")
    ]


# ---------------------------------------------------------------------------------------------
# Markers name tests that exist
# ---------------------------------------------------------------------------------------------


def _defines(path: Path, name: str) -> bool:
    pattern = rf"^(async )?def {re.escape(name)}\("
    return bool(re.search(pattern, path.read_text(encoding="utf-8"), re.M))


def generated_test_source(relative: str) -> Path | None:
    """The template source of a generated test file (its name may carry a condition)."""
    folder = REPO / "template" / Path(relative).parent
    name = Path(relative).name
    for candidate in sorted(folder.iterdir()) if folder.is_dir() else []:
        rendered = re.sub(r"\{%.*?%\}", "", candidate.name).removesuffix(".jinja")
        if rendered == name:
            return candidate
    return None


def target_problem(command: DocCommand, marker: Marker) -> str | None:
    """Why the marker's target does not cover the command, or ``None`` when it does."""
    target = marker.target
    if target == ".ci/run":
        script = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if marker.kind == "run-by" and command.text not in {line.strip() for line in script}:
            return f"run-by .ci/run, but .ci/run has no line {command.text!r}"
        return None
    generated = target.startswith("generated ")
    relative, _, name = target.removeprefix("generated ").partition("::")
    name = name.split("[", 1)[0]
    path = generated_test_source(relative) if generated else REPO / relative
    if path is None or not path.is_file():
        return f"{target}: no such test file"
    if not _defines(path, name):
        return f"{target}: {path.relative_to(REPO)} defines no test {name}"
    if marker.kind == "run-by" and generated:
        return f"{target}: a generated test cannot run a documented command (use not-run-here)"
    return None


def coverage_problems(commands: list[DocCommand], *, runner_source: str) -> list[str]:
    problems = []
    for command in commands:
        if command.marker is None:
            if not command.source.startswith(runner_source):
                problems.append(
                    f"{command}: neither run by a test nor marked (<!-- run-by: ... --> or "
                    "<!-- not-run-here: why; covered by ... -->, see tests/_doc_commands.py)"
                )
            continue
        problem = target_problem(command, command.marker)
        if problem:
            problems.append(f"{command}: {problem}")
    return problems


def test_every_documented_command_is_run_or_marked(
    template_src: TemplateSource, tmp_path: Path
) -> None:
    commands = template_commands()
    for answers in readme_answers():
        text = render_readme(template_src, tmp_path / combo_id({**answers, "layout": "-"}), answers)
        commands += extract(
            text, f"generated README.md ({answers['database']}, {answers['queue']})"
        )
    assert any(c.source == "README.md" for c in commands), "README.md's commands not found"
    assert any(c.source.startswith("generated") and c.marker is None for c in commands)

    assert coverage_problems(commands, runner_source="generated README.md") == []


# ---------------------------------------------------------------------------------------------
# The extractor itself
# ---------------------------------------------------------------------------------------------

SAMPLE = """\
Intro with `inline code` that is not a command.

<!-- run-by: tests/test_journeys.py::test_readme_render_then_update -->
```sh
# a comment line
copier update --trust --defaults  # keep answers
make check \\
    test
```

```python
print("not a shell block")
```

| what | command |
|------|---------|
| install | `uv sync` |
| serve | `make dev` <!-- not-run-here: serves until stopped; covered by .ci/run --> |

| method | path |
|--------|------|
| `GET` | `/health` |
"""


def test_the_extractor_reads_blocks_tables_and_markers() -> None:
    found = [(c.line, c.text, c.marker) for c in extract(SAMPLE, "sample.md")]

    run_by = Marker("run-by", "", "tests/test_journeys.py::test_readme_render_then_update")
    assert found == [
        (6, "copier update --trust --defaults  # keep answers", run_by),
        (7, "make check \\\ntest", run_by),
        (17, "uv sync", None),
        (18, "make dev", Marker("not-run-here", "serves until stopped", ".ci/run")),
    ]


def test_an_unmarked_template_command_and_a_missing_test_are_reported() -> None:
    text = (
        "```sh\nuv run something\n```\n\n"
        "<!-- run-by: tests/test_journeys.py::test_that_does_not_exist -->\n"
        "```sh\nuv run other\n```\n"
    )
    problems = coverage_problems(extract(text, "docs/x.md"), runner_source="generated")

    assert len(problems) == 2
    assert "neither run by a test nor marked" in problems[0]
    assert "defines no test test_that_does_not_exist" in problems[1]


# ---------------------------------------------------------------------------------------------
# Slow: the generated README's commands, run as written in a rendered project
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("database", choice_values("database"))
def test_generated_readme_commands(
    database: str,
    template_src: TemplateSource,
    generated_dir: Path,
    services: Services,
    record_property: Callable[[str, object], None],
) -> None:
    """Each unmarked command of the generated README, in order, in one project per database."""
    answers = {"database": database}
    project = render(template_src, generated_dir / "project", answers)
    commands = [
        c for c in extract_file(project / "README.md", "generated README.md") if c.marker is None
    ]
    assert commands, "the generated README has no command to run"
    try:
        service_env = services.env_for(answers)
    except ServiceUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    python = find_python(required_python(project))
    if python is None:
        pytest.fail(f"no Python >= {required_python(project)}: set GENERATED_PYTHON", pytrace=False)
    tmpdir = Path(tempfile.mkdtemp(prefix="cf-"))
    tmpdir.chmod(0o755)
    env = generated_env({"TMPDIR": str(tmpdir), "UV_PYTHON": python, **service_env})
    timings: dict[str, float] = {}
    for command in commands:
        started = time.perf_counter()
        completed = subprocess.run(
            ["bash", "-c", command.text],
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        timings[command.text] = round(time.perf_counter() - started, 1)
        assert completed.returncode == 0, (
            f"{command} failed (exit {completed.returncode}):\n"
            + (completed.stdout + completed.stderr)[-6000:]
        )
    record_property("timings", timings)


# ---------------------------------------------------------------------------------------------
# One address for the template
# ---------------------------------------------------------------------------------------------


def test_the_template_address_has_one_source(template_src: TemplateSource, tmp_path: Path) -> None:
    """`TEMPLATE_URL` (extensions/helpers.py) is what README.md gives and generated READMEs link."""
    url = helpers_module().TEMPLATE_URL
    assert url in (REPO / "README.md").read_text(encoding="utf-8")
    source = (REPO / "template" / "README.md.jinja").read_text(encoding="utf-8")
    assert "](https://github.com" not in source, "the generated README must link {{ template_url }}"
    assert f"]({url})" in render_readme(template_src, tmp_path / "project", {})
