"""Every combination of database x queue x layout: refused with a message, or rendered well."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from conftest import (
    REPO,
    Renderer,
    TemplateSource,
    choice_values,
    default_answers,
    refusal_of,
    refused_by_design,
    render,
    render_or_skip,
    rendered_files,
    tree_bytes,
)

# Jinja left in output: a statement, comment or expression opener. GitHub Actions' `${{` is
# the one legitimate `{{` in a rendered file ({% raw %} in the template renders to it), and
# Helm's templates (deploy/helm/<chart>/templates/, copied verbatim) are Go templates.
UNRENDERED = re.compile(r"\{%|\{#|(?<!\$)\{\{")
UNRENDERED_IN_HELM = re.compile(r"\{%|\{#")
HELM_TEMPLATES = re.compile(r"^deploy/helm/[^/]+/templates/")
# The project's e-mails: Jinja2 templates the service renders at run time, copied verbatim
# (no `.jinja` suffix), so their `{{ ... }}` are meant to stay.
EMAIL_TEMPLATES = re.compile(r"^src/[^/]+/emails/[^/]+\.(txt|html)$")
DOMAINS = ("users", "orders")


def load_helpers() -> ModuleType:
    """extensions/helpers.py, the single source of module placement per layout."""
    spec = importlib.util.spec_from_file_location(
        "template_helpers", REPO / "extensions" / "helpers.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("template_helpers", module)
    spec.loader.exec_module(module)
    return module


HELPERS = load_helpers()


def package_root(project: Path, answers: dict[str, Any]) -> Path:
    return project / "src" / str(answers["package_name"])


def recorded_answers(project: Path) -> dict[str, Any]:
    answers: dict[str, Any] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return answers


def test_combination(
    combo: dict[str, str],
    render_project: Renderer,
    record_property: Callable[[str, object], None],
) -> None:
    started = time.perf_counter()
    try:
        project = render_project(combo)
    except Exception as error:
        refusal = refused_by_design(combo, error)
        if refusal is None:
            raise
        # The user reads this message: it must say which question and which answer.
        assert refusal.question in refusal.message, refusal
        assert combo[refusal.question] in refusal.message, refusal
        record_property("timings", {"refused": round(time.perf_counter() - started, 2)})
        return
    seconds = time.perf_counter() - started
    again = render_project(combo)
    record_property("timings", {"render": round(seconds, 2)})

    answers = recorded_answers(project)
    for question, value in combo.items():
        assert answers[question] == value
    check_layout(project, answers)
    check_database(project, answers)
    check_queue(project, answers)
    check_packages(project, answers)
    check_fully_rendered(project)
    check_parses(project)
    assert tree_bytes(project) == tree_bytes(again), "two renders with the same answers differ"


def check_layout(project: Path, answers: dict[str, Any]) -> None:
    root = package_root(project, answers)
    layout = answers["layout"]
    assert root.is_dir(), f"no package at {root}"
    if layout == "layered":
        assert (root / "api" / "v1" / "users.py").is_file()
        assert not (root / "users").exists()
    if layout == "domain":
        assert (root / "users" / "router.py").is_file()
        assert not (root / "api").exists()
    # Every module extensions/helpers.py places for this layout, and none of another layout's.
    always = ("router", "dependencies", "schemas", "service", "exceptions")
    for domain in DOMAINS:
        for kind in always:
            place = HELPERS.module_place(layout, domain, kind)
            assert (root / place).is_file(), f"{layout}: missing {domain} {kind} at {place}"
        for other in HELPERS.MODULE_PLACES:
            if other == layout:
                continue
            for kind in always:
                place = HELPERS.module_place(other, domain, kind)
                if place != HELPERS.module_place(layout, domain, kind):
                    assert not (root / place).exists(), f"{layout}: {other}'s {place} rendered"


# Imports that belong to one database's stack only: never rendered for the other database.
STACK_IMPORTS = {
    "postgres": re.compile(r"^\s*(from|import)\s+(sqlalchemy|alembic|asyncpg|pgserver)\b", re.M),
    "mongodb": re.compile(r"^\s*(from|import)\s+(pymongo|beanie|motor|bson)\b", re.M),
}
STACK_DEPENDENCIES = {
    "postgres": re.compile(r"^(sqlalchemy|alembic|asyncpg|pgserver)\b", re.I),
    "mongodb": re.compile(r"^(pymongo|beanie|motor)\b", re.I),
}


def check_database(project: Path, answers: dict[str, Any]) -> None:
    root = package_root(project, answers)
    database = answers["database"]
    postgres = database == "postgres"
    assert (project / "alembic.ini").is_file() == postgres
    assert (project / "migrations").is_dir() == postgres
    if postgres:
        assert list((project / "migrations").rglob("*.py")), "postgres: migrations/ has no module"
    assert (root / "core" / "database.py").is_file(), f"{database}: no core/database.py"
    for domain in DOMAINS:
        for kind in ("models", "repository"):
            place = HELPERS.module_place(answers["layout"], domain, kind)
            assert (root / place).is_file(), f"{database}: missing {place}"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = [
        *pyproject["project"]["dependencies"],
        *(d for group in pyproject.get("dependency-groups", {}).values() for d in group),
    ]
    for other, imports in STACK_IMPORTS.items():
        if other == database:
            continue
        for module in project.rglob("*.py"):
            match = imports.search(module.read_text(encoding="utf-8"))
            assert match is None, (
                f"{database}: {module.relative_to(project)} imports {other}'s stack"
            )
        leaked = [d for d in dependencies if STACK_DEPENDENCIES[other].match(str(d))]
        assert not leaked, f"{database}: pyproject.toml depends on {other}'s stack: {leaked}"


def check_queue(project: Path, answers: dict[str, Any]) -> None:
    """One adapter (core/tasks.py) per queue; a worker, Redis and its tests for real queues."""
    root = package_root(project, answers)
    queue = answers["queue"]
    broker = queue != "background_tasks"
    assert (root / "core" / "tasks.py").is_file()
    assert (root / "core" / "worker.py").is_file() == broker
    assert (project / "tests" / "worker.py").is_file() == broker
    assert (project / "tests" / "test_worker.py").is_file() == broker
    # A worker to run beside the API, and the settings it shares with it.
    for name, sign in (("compose.yaml", "\n  worker:\n"), ("Makefile", "\nworker:\n")):
        text = (project / name).read_text(encoding="utf-8")
        assert (sign in text) == broker, f"{queue}: {name} and its worker disagree"
    env_example = (project / ".env.example").read_text(encoding="utf-8")
    assert ("TASK_QUEUE_NAME=" in env_example) == broker, f"{queue}: .env.example"
    if broker:
        tasks = (root / "core" / "tasks.py").read_text(encoding="utf-8")
        library = {"celery": "from celery", "arq": "from arq", "taskiq": "from taskiq"}[queue]
        assert library in tasks, f"{queue}: core/tasks.py does not use {queue}"


def check_packages(project: Path, answers: dict[str, Any]) -> None:
    """Every directory of Python modules below src/<package> is a regular package."""
    root = package_root(project, answers)
    for module in root.rglob("*.py"):
        for directory in module.relative_to(root).parents:
            assert (root / directory / "__init__.py").is_file(), f"no __init__.py in {directory}"


def check_fully_rendered(project: Path) -> None:
    for path in rendered_files(project):
        relative = path.relative_to(project).as_posix()
        assert not path.name.endswith(".jinja"), f"{relative}: template suffix left"
        assert "{{" not in relative and "{%" not in relative, f"unrendered path {relative}"
        assert path.name.strip(), f"empty file name under {path.parent}"
        text = path.read_bytes().decode("utf-8", errors="replace")
        if EMAIL_TEMPLATES.match(relative):
            continue
        unrendered = UNRENDERED_IN_HELM if HELM_TEMPLATES.match(relative) else UNRENDERED
        for number, line in enumerate(text.splitlines(), 1):
            assert not unrendered.search(line), (
                f"{relative}:{number}: unrendered Jinja: {line.strip()}"
            )


def check_parses(project: Path) -> None:
    """Python, TOML and YAML that the tools would read are at least well-formed."""
    for path in rendered_files(project):
        relative = path.relative_to(project).as_posix()
        if path.suffix == ".py":
            ast.parse(path.read_text(encoding="utf-8"), filename=relative)
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text(encoding="utf-8"))
        elif path.suffix in {".yml", ".yaml"} and not HELM_TEMPLATES.match(relative):
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))


def test_defaults_are_offered(render_project: Renderer) -> None:
    """No answers at all: the default combination renders (what the README promises)."""
    project = render_project({})
    answers = recorded_answers(project)
    assert {q: answers[q] for q in default_answers()} == default_answers()
    assert (project / "pyproject.toml").is_file()
    assert (project / "src" / "my_service" / "main.py").is_file()


@pytest.mark.parametrize("database", choice_values("database"))
@pytest.mark.parametrize("layout", choice_values("layout"))
def test_custom_identity_leaves_no_default_behind(
    render_project: Renderer, database: str, layout: str
) -> None:
    """Answers reach every file: no default name, slug or package is hard-coded anywhere."""
    answers = {
        "project_name": "Acme Billing",
        "author_name": "Billing Squad",
        "author_email": "billing@acme.test",
        "python_version": "3.13",
        "database": database,
        "layout": layout,
    }
    project = render_or_skip(render_project, answers)
    recorded = recorded_answers(project)
    assert recorded["project_slug"] == "acme-billing"
    assert recorded["package_name"] == "acme_billing"
    assert (project / "src" / "acme_billing").is_dir()
    assert not (project / "src" / "my_service").exists()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "acme-billing"
    assert pyproject["project"]["requires-python"] == ">=3.13"
    leftovers = re.compile(r"my_service|my-service|My Service|backend@example\.com|Backend Team")
    for path in rendered_files(project):
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            assert not leftovers.search(line), (
                f"{path.relative_to(project)}:{number}: {line.strip()}"
            )


def test_refusal_is_a_plain_message(template_src: TemplateSource, tmp_path: Path) -> None:
    """A refused answer stops before anything is written, with Copier's validation error."""
    dst = tmp_path / "refused"
    with pytest.raises(ValueError) as caught:
        render(template_src, dst, {"package_name": "class"})
    assert refusal_of(caught.value) is not None
    assert not dst.exists() or not any(dst.iterdir())


@pytest.mark.filterwarnings("ignore::copier.errors.DirtyLocalWarning")
def test_pytest_copie_renders_the_working_tree(copie: Any) -> None:
    """pytest-copie (Git clone of the repo at HEAD plus uncommitted changes) renders too."""
    result = copie.copy()
    assert result.exception is None, result.exception
    assert (result.project_dir / "src" / "my_service" / "main.py").is_file()
    assert result.answers["layout"] == "layered"
