"""Each offered combination: the generated project installs, lints, type-checks and passes.

Most run on the floor Python; six run on a newer offered version instead
(tests/test_python_versions.py ``RUNS``), so every version is proven without a run of its own.

Real servers come from tests/_services.py: given through TEST_* variables, or started once and
passed to every generated suite. tests/test_journeys.py::test_updating_guide_journey proves
the generated suite also starts its own (its ``make check test`` gets no TEST_* variable).

In the combinations with the default queue and layout (one per database), the checks are the
generated README's own unmarked commands (``uv sync``, ``make test``, ``make check``), run as
written: one run counts for this test and for the README (tests/_doc_commands.py), and the
test fails if those commands stop running every check of ``GENERATED_CHECKS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _doc_commands import extract_file
from _services import Services, ServiceUnavailable
from conftest import (
    MATRIX_QUESTIONS,
    GeneratedRun,
    Renderer,
    default_answers,
    find_python,
    how_to_get_python,
    refused_by_design,
    required_python,
    run_generated_project,
)
from test_python_versions import FLOOR, python_version_for

pytestmark = pytest.mark.slow


def python_for(project: Path) -> str:
    """The interpreter for a project: exactly its minimum when that is above the floor (the
    run proves that version), else the floor or the nearest newer one."""
    minimum = required_python(project)
    exact = minimum != FLOOR
    python = find_python(minimum, exact=exact)
    if python is None:
        how = (
            how_to_get_python(minimum)
            if exact
            else f"set GENERATED_PYTHON=/path/to/python{minimum}"
        )
        pytest.fail(f"no Python {minimum} interpreter found: {how}", pytrace=False)
    return python


def runs_the_readme(combo: dict[str, str]) -> bool:
    """The default queue and layout, any database: where the README's commands are the checks."""
    defaults = default_answers()
    others = [question for question in MATRIX_QUESTIONS if question != "database"]
    return all(combo[question] == defaults[question] for question in others)


def readme_commands(project: Path) -> list[str]:
    """The generated README's unmarked commands, in order (tests/_doc_commands.py)."""
    found = extract_file(project / "README.md", "generated README.md")
    commands = [command.text for command in found if command.marker is None]
    assert commands, "the generated README has no command to run"
    return commands


# Lines `make` echoes as it runs them: the README's `make test` and `make check` must run each
# check of conftest.GENERATED_CHECKS, or its run would not stand for them.
README_MUST_RUN = (
    "uv run ruff check .",
    "uv run ruff format --check .",
    "uv run mypy",
    "uv run pytest",
)


def checks_missed(run: GeneratedRun) -> list[str]:
    ran = {line.strip() for step in run.steps for line in step.output.splitlines()}
    return [line for line in README_MUST_RUN if line not in ran]


def test_generated_suite(
    combo: dict[str, str],
    render_project: Renderer,
    generated_dir: Path,
    services: Services,
    record_property: Callable[[str, object], None],
) -> None:
    started = time.perf_counter()
    combo = {**combo, "python_version": python_version_for(combo)}
    try:
        project = render_project(combo, generated_dir / "project")
    except Exception as error:
        refusal = refused_by_design(combo, error)
        if refusal is None:
            raise
        pytest.skip(f"refused by copier.yml: {refusal.message}")
    try:
        env = services.env_for(combo)
    except ServiceUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    readme = readme_commands(project) if runs_the_readme(combo) else []
    run = run_generated_project(project, python_for(project), env, readme_commands=readme)
    timings = {**run.timings, "total": round(time.perf_counter() - started, 1)}
    record_property("timings", {f"python {combo['python_version']}": 0.0, **timings})
    run.assert_ok()
    if readme:
        assert checks_missed(run) == [], f"the README's {readme} did not run {checks_missed(run)}"
