"""Each offered combination: the generated project installs, lints, type-checks and passes.

Real servers come from tests/_services.py: given through TEST_* variables, or started once and
passed to every generated suite. One run proves the generated suite also starts its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _services import Services, ServiceUnavailable
from conftest import (
    GENERATED_CHECKS,
    Renderer,
    find_python,
    refused_by_design,
    required_python,
    run_generated_project,
)

pytestmark = pytest.mark.slow


def python_for(project: Path) -> str:
    minimum = required_python(project)
    python = find_python(minimum)
    if python is None:
        pytest.fail(
            f"no Python >= {minimum} interpreter found: "
            f"set GENERATED_PYTHON=/path/to/python{minimum}",
            pytrace=False,
        )
    return python


def test_generated_suite(
    combo: dict[str, str],
    render_project: Renderer,
    generated_dir: Path,
    services: Services,
    record_property: Callable[[str, object], None],
) -> None:
    started = time.perf_counter()
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
    run = run_generated_project(project, python_for(project), env)
    record_property("timings", {**run.timings, "total": round(time.perf_counter() - started, 1)})
    run.assert_ok()


def test_generated_suite_starts_its_own_postgres(
    render_project: Renderer, generated_dir: Path, record_property: Callable[[str, object], None]
) -> None:
    """Defaults and no TEST_* variables: the generated suite brings up PostgreSQL itself."""
    started = time.perf_counter()
    project = render_project({}, generated_dir / "project")
    pytest_only = [check for check in GENERATED_CHECKS if check[0] == "pytest"]
    run = run_generated_project(project, python_for(project), {}, checks=pytest_only)
    record_property("timings", {**run.timings, "total": round(time.perf_counter() - started, 1)})
    run.assert_ok()
