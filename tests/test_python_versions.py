"""Every offered ``python_version`` is proven: settings, static checks and a full generated run.

``python_version`` is the project's minimum Python. For each choice the generated settings follow
it (requires-python, ruff ``target-version``, mypy ``python_version``), the sources are clean
under ruff with that target (3.12 asks for PEP 695 type parameters, 3.14's formatter drops the
parentheses of ``except (A, B):``), and one project per database installs, lints,
type-checks and passes its suite on exactly that interpreter, against real servers: six of the
combinations of tests/test_generated_suite.py run on a newer version instead of the floor
(``RUNS``), which proves every version without runs of its own.

Interpreters (``conftest.find_python(..., exact=True)``): pyenv's builds in
``$(pyenv root)/versions``, PATH, and for 3.14 the Debian unstable root ``.ci/run`` makes
(tests/_python_root.py). A missing one fails the test with one line that says how to get it.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Mapping

import pytest
from conftest import (
    Renderer,
    choice_values,
    combinations,
    render_or_skip,
)

VERSIONS = choice_values("python_version")
# The floor every version is compared with: the suites of tests/test_generated_suite.py run on it.
FLOOR = VERSIONS[0]
NEWER = [version for version in VERSIONS if version != FLOOR]

# One project per database for each version above the floor, spread so that every queue and
# both layouts meet a newer interpreter: the queues' native dependencies (Celery's, redis's,
# uvloop, httptools) and the databases' (asyncpg, pymongo) each install and run at least once.
RUNS: dict[str, list[dict[str, str]]] = {
    "3.12": [
        {"database": "postgres", "queue": "celery", "layout": "layered"},
        {"database": "mongodb", "queue": "arq", "layout": "domain"},
    ],
    "3.13": [
        {"database": "postgres", "queue": "taskiq", "layout": "domain"},
        {"database": "mongodb", "queue": "background_tasks", "layout": "layered"},
    ],
    "3.14": [
        {"database": "postgres", "queue": "arq", "layout": "layered"},
        {"database": "mongodb", "queue": "celery", "layout": "domain"},
    ],
}


def run_id(version: str, answers: dict[str, str]) -> str:
    return f"{version}-{answers['database']}-{answers['queue']}-{answers['layout']}"


def python_version_for(combo: Mapping[str, str]) -> str:
    """The Python a combination's generated suite runs on (tests/test_generated_suite.py)."""
    for version, runs in RUNS.items():
        if any(all(combo[key] == value for key, value in run.items()) for run in runs):
            return version
    return FLOOR


def test_every_newer_version_has_runs() -> None:
    """A version added to copier.yml gets its generated runs too (or is refused there): one
    combination per database runs on it, and the floor keeps the rest."""
    assert sorted(RUNS) == sorted(NEWER)
    for version, runs in RUNS.items():
        assert {run["database"] for run in runs} == set(choice_values("database")), version
    versions = [python_version_for(combo) for combo in combinations()]
    assert all(versions.count(version) == 2 for version in NEWER)
    assert versions.count(FLOOR) == len(versions) - 2 * len(NEWER) > 0


@pytest.mark.parametrize("version", VERSIONS)
def test_settings_follow_python_version(render_project: Renderer, version: str) -> None:
    project = render_or_skip(render_project, {"python_version": version})
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["requires-python"] == f">={version}"
    assert pyproject["tool"]["ruff"]["target-version"] == f"py{version.replace('.', '')}"
    assert pyproject["tool"]["mypy"]["python_version"] == version
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    assert f"python:{version}-" in dockerfile


STATIC = [
    (version, database, queue)
    for number, version in enumerate(VERSIONS)
    for database, queue in zip(
        choice_values("database"),
        [choice_values("queue")[number % 4], choice_values("queue")[(number + 2) % 4]],
        strict=True,
    )
]


@pytest.mark.parametrize(
    ("version", "database", "queue"), STATIC, ids=["-".join(answers) for answers in STATIC]
)
def test_sources_are_ruff_clean_for_their_target(
    render_project: Renderer, version: str, database: str, queue: str
) -> None:
    """ruff (this suite's) with the project's own settings: the target version decides the rules."""
    project = render_or_skip(
        render_project, {"python_version": version, "database": database, "queue": queue}
    )
    ruff = [sys.executable, "-m", "ruff"]
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "--diff", "."]):
        result = subprocess.run(
            [*ruff, *args], cwd=project, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, (
            f"ruff {args[0]} ({version}):\n{result.stdout}{result.stderr}"
        )
