"""The database is not part of the API: PostgreSQL and MongoDB projects rendered with the same
answers publish the same OpenAPI document, for every queue the template offers and every layout.

Each (database, queue) pair gets one virtual environment with the runtime dependencies only
(`uv sync --no-dev --no-install-project`, from the shared uv cache); both layouts' projects
run in it with their own ``src`` first on ``PYTHONPATH``. The document comes from
``create_app().openapi()`` with ``ENVIRONMENT=test``: no server, no database needed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    Renderer,
    choice_values,
    find_python,
    generated_env,
    render_or_skip,
    required_python,
    run_step,
    uv_binary,
)

pytestmark = pytest.mark.slow

DATABASES = ("postgres", "mongodb")

DUMP_OPENAPI = """
import json, sys
from {package}.main import create_app
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump(create_app().openapi(), out, indent=1, sort_keys=True)
"""


def differences(left: Any, right: Any, path: str = "$") -> Iterator[str]:
    """JSON paths where two documents differ, with both values."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(left.keys() | right.keys()):
            if key not in right:
                yield f"{path}.{key}: only in postgres"
            elif key not in left:
                yield f"{path}.{key}: only in mongodb"
            else:
                yield from differences(left[key], right[key], f"{path}.{key}")
    elif isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            yield from differences(a, b, f"{path}[{index}]")
    elif left != right:
        yield f"{path}: postgres {json.dumps(left)[:120]} != mongodb {json.dumps(right)[:120]}"


def build_environment(project: Path, venv: Path) -> None:
    """Runtime dependencies of `project` into `venv`; the project itself is not installed."""
    python = find_python(required_python(project))
    if python is None:
        pytest.fail(f"no Python >= {required_python(project)} found: set GENERATED_PYTHON")
    env = generated_env({"UV_PROJECT_ENVIRONMENT": str(venv)})
    command = (uv_binary(), "sync", "--no-dev", "--no-install-project", "--python", python)
    step = run_step("uv sync", command, project, env, timeout=900)
    if not step.ok:
        pytest.fail(step.failure(), pytrace=False)


def openapi_of(project: Path, venv: Path, package: str) -> dict[str, Any]:
    out = project / "openapi.json"
    env = generated_env({"ENVIRONMENT": "test", "PYTHONPATH": str(project / "src")})
    command = (str(venv / "bin" / "python"), "-c", DUMP_OPENAPI.format(package=package), str(out))
    step = run_step("openapi", command, project, env, timeout=300)
    if not step.ok:
        pytest.fail(step.failure(), pytrace=False)
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize("queue", choice_values("queue"))
def test_both_databases_publish_the_same_openapi(
    queue: str,
    render_project: Renderer,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    started = time.perf_counter()
    documents: dict[tuple[str, str], dict[str, Any]] = {}
    for database in DATABASES:
        venv = tmp_path / f"venv-{database}"
        for layout in choice_values("layout"):
            answers = {"database": database, "queue": queue, "layout": layout}
            project = render_or_skip(render_project, answers)
            if not venv.exists():
                build_environment(project, venv)
            documents[database, layout] = openapi_of(project, venv, "my_service")
    record_property("timings", {"total": round(time.perf_counter() - started, 1)})

    for layout in choice_values("layout"):
        postgres, mongodb = documents["postgres", layout], documents["mongodb", layout]
        assert postgres["paths"], f"{layout}: the OpenAPI document has no paths"
        found = list(differences(postgres, mongodb))
        assert not found, f"queue={queue} layout={layout}: the OpenAPI documents differ:\n" + (
            "\n".join(found[:30])
        )
