"""Each offered combination: the generated project installs, lints, type-checks and passes.

Most run on the floor Python; six run on a newer offered version instead
(tests/test_python_versions.py ``RUNS``), so every version is proven without a run of its own.

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
    run = run_generated_project(project, python_for(project), env)
    timings = {**run.timings, "total": round(time.perf_counter() - started, 1)}
    record_property("timings", {f"python {combo['python_version']}": 0.0, **timings})
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
