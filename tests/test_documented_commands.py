"""Every command the documentation tells users to run is run by a test as written, or marked.

Documents: README.md, CONTRIBUTING.md, docs/*.md and the README of a generated project
(rendered for every (database, queue) pair). What counts as a documented command and how a
document marks one is in tests/_doc_commands.py. This module

* fails when a command is neither run nor marked with a covering test that exists.

The generated README's unmarked commands (``uv sync``, ``make test``, ``make check``) are run
as written by tests/test_generated_suite.py, in one combination per database, as that
combination's checks.
"""

from __future__ import annotations

import re
from pathlib import Path

import copier
from _doc_commands import DocCommand, Marker, extract, extract_file
from conftest import (
    REPO,
    Renderer,
    TemplateSource,
    choice_values,
    combo_id,
)
from test_generated_suite import README_MUST_RUN, readme_commands
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


def make_recipes(makefile: str, targets: list[str]) -> set[str]:
    """The recipe lines (as make echoes them) of ``targets`` in a Makefile's text."""
    recipes: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in makefile.splitlines():
        if line.startswith("\t") and current is not None:
            current.append(line.strip())
        elif re.match(r"^[\w.-]+:(?!=)", line):
            current = recipes.setdefault(line.split(":", 1)[0], [])
        elif line.strip() and not line.startswith("#"):
            current = None
    return {line for target in targets for line in recipes.get(target, [])}


def test_the_generated_readme_commands_run_every_check(render_project: Renderer) -> None:
    """tests/test_generated_suite.py lets the README's commands stand for the generated
    checks in one combination per database: their `make` targets must run each of them."""
    project = render_project({})
    targets = [
        word
        for command in readme_commands(project)
        if command.startswith("make ")
        for word in command.split()[1:]
    ]
    recipes = make_recipes((project / "Makefile").read_text(encoding="utf-8"), targets)
    assert [line for line in README_MUST_RUN if line not in recipes] == []


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
# One address for the template
# ---------------------------------------------------------------------------------------------


def test_the_template_address_has_one_source(template_src: TemplateSource, tmp_path: Path) -> None:
    """`TEMPLATE_URL` (extensions/helpers.py) is what README.md gives and generated READMEs link."""
    url = helpers_module().TEMPLATE_URL
    assert url in (REPO / "README.md").read_text(encoding="utf-8")
    source = (REPO / "template" / "README.md.jinja").read_text(encoding="utf-8")
    assert "](https://github.com" not in source, "the generated README must link {{ template_url }}"
    assert f"]({url})" in render_readme(template_src, tmp_path / "project", {})
