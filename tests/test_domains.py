"""Domains added to a generated service (`--data domain=...`, docs/domains.md).

Covering subset, argued in docs/domains.md: the generated domain's code differs by database
(model and repository files) and by layout (paths and imports only). So the full suite runs
for PostgreSQL/layered and MongoDB/domain, each with two domains (one owned with every field
type, one shared), which between them render every domain module in both databases and both
layouts; the two other pairs are rendered and checked by ruff, ruff format and mypy.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from _services import Services, ServiceUnavailable
from conftest import (
    GENERATED_CHECKS,
    TemplateSource,
    assert_refusal,
    find_python,
    refusal_of,
    render,
    required_python,
    run_generated_project,
    snapshot_template,
)
from test_update import commit_all, git

EVERY_TYPE = (
    "title:str, code:str(12)!, amount:decimal, quantity:int?, paid:bool, due:date?, "
    "sent_at:datetime?, ref:uuid?, status:enum(draft|sent|paid)"
)
SERVICE = {"project_name": "Shop", "package_name": "shop"}


def add_domain(
    source: TemplateSource, project: Path, name: str, answers: Mapping[str, Any] | None = None
) -> None:
    """`copier copy --trust -a .copier-answers.domain-<name>.yml --data domain=<name> ...`"""
    copier.run_copy(
        src_path=source.path,
        dst_path=str(project),
        data={"domain": name, **(answers or {})},
        answers_file=f".copier-answers.domain-{name}.yml",
        vcs_ref=source.vcs_ref,
        defaults=True,
        unsafe=True,
        quiet=True,
    )


def python_for(project: Path) -> str:
    python = find_python(required_python(project))
    if python is None:
        pytest.fail("no Python interpreter for the generated project", pytrace=False)
    return python


# ---------------------------------------------------------------------------------------------
# Questions: a service asks nothing new; bad domain answers are refused, nothing written
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service(template_src: TemplateSource, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = render(template_src, tmp_path_factory.mktemp("service") / "shop", SERVICE)
    commit_all(project, "service")
    return project


def test_service_answers_record_no_domain_question(service: Path) -> None:
    recorded = yaml.safe_load((service / ".copier-answers.yml").read_text())
    assert not [key for key in recorded if key.startswith("domain")], recorded


BAD_DOMAINS = [
    # (answers, question, words the message must contain)
    ({"domain": "class"}, "domain", ["keyword"]),
    ({"domain": "Invoices"}, "domain", ["identifier"]),
    ({"domain": "orders"}, "domain", ["taken"]),
    ({"domain": "json"}, "domain", ["shadow"]),
    ({"domain": "invoices", "domain_fields": "title:money"}, "domain_fields", ["'money'"]),
    ({"domain": "invoices", "domain_fields": "title:str, title:int"}, "domain_fields", ["twice"]),
    ({"domain": "invoices", "domain_fields": "id:uuid"}, "domain_fields", ["'id'"]),
    ({"domain": "invoices", "domain_fields": "count:int"}, "domain_fields", ["'count'"]),
    ({"domain": "invoices", "domain_fields": "s:enum()"}, "domain_fields", ["enum"]),
    ({"domain": "invoices", "domain_fields": "s:str(0)"}, "domain_fields", ["length"]),
    ({"domain": "invoices", "domain_fields": "flag:bool!"}, "domain_fields", ["unique"]),
    ({"domain": "invoices", "domain_singular": "invoices"}, "domain_singular", ["differ"]),
]


@pytest.mark.parametrize(
    ("answers", "question", "words"),
    BAD_DOMAINS,
    ids=[",".join(f"{k}={v}" for k, v in a.items()) for a, _, _ in BAD_DOMAINS],
)
def test_bad_domain_answer_is_refused(
    template_src: TemplateSource,
    service: Path,
    answers: dict[str, str],
    question: str,
    words: list[str],
) -> None:
    with pytest.raises(ValueError) as caught:
        add_domain(template_src, service, answers["domain"], answers)
    assert_refusal(caught.value, question, words)
    assert git("status", "--porcelain", cwd=service) == "", "something was written"


def test_domain_needs_a_service(template_src: TemplateSource, tmp_path: Path) -> None:
    with pytest.raises(ValueError) as caught:
        add_domain(template_src, tmp_path / "empty", "invoices")
    refusal = refusal_of(caught.value)
    assert refusal is not None and refusal.question == "domain", str(caught.value)
    assert ".copier-answers.yml" in refusal.message
    assert not (tmp_path / "empty" / ".copier-answers.domain-invoices.yml").exists()


def test_domain_keeps_its_own_answers_file(template_src: TemplateSource, service: Path) -> None:
    with pytest.raises(ValueError) as caught:
        copier.run_copy(
            src_path=template_src.path,
            dst_path=str(service),
            data={"domain": "invoices"},
            vcs_ref=template_src.vcs_ref,
            defaults=True,
            unsafe=True,
            quiet=True,
        )
    refusal = refusal_of(caught.value)
    assert refusal is not None and refusal.question == "domain", str(caught.value)
    assert "-a .copier-answers.domain-invoices.yml" in refusal.message
    assert git("status", "--porcelain", cwd=service) == ""


def test_a_domain_is_added_once_and_registered_once(
    template_src: TemplateSource, tmp_path: Path
) -> None:
    project = render(template_src, tmp_path / "shop", SERVICE)
    commit_all(project, "service")
    add_domain(template_src, project, "invoices")
    routers = (project / "src/shop/routers.py").read_text()
    assert "from shop.api.v1.invoices import router as invoices_router" in routers
    assert "ROUTERS: tuple[APIRouter, ...] = (invoices_router,)" in routers
    assert "MODELS = (User, Order, Invoice)" in (project / "migrations/env.py").read_text()
    answers = yaml.safe_load((project / ".copier-answers.domain-invoices.yml").read_text())
    assert answers["domain"] == "invoices"
    assert {"package_name", "database", "layout"} <= set(answers)
    assert answers["domain_migration_parent"] == "0005"
    commit_all(project, "invoices")

    with pytest.raises(ValueError) as caught:
        add_domain(template_src, project, "invoices")
    refusal = refusal_of(caught.value)
    assert refusal is not None and refusal.question == "domain", str(caught.value)

    # The registration step again (as an update runs it): nothing added twice.
    script = Path(template_src.path, "extensions/register_domain.py")
    args = ["--package", "shop", "--database", "postgres", "--domain", "invoices"]
    args += ["--router-module", "shop.api.v1.invoices", "--models-module", "shop.models.invoices"]
    subprocess.run(
        [sys.executable, str(script), *args, "--model", "Invoice"], cwd=project, check=True
    )
    assert git("status", "--porcelain", cwd=project) == ""


def test_registration_reports_a_rearranged_file(
    template_src: TemplateSource, tmp_path: Path
) -> None:
    project = render(template_src, tmp_path / "shop", SERVICE)
    routers = project / "src/shop/routers.py"
    routers.write_text("from fastapi import APIRouter\n\nALL = [APIRouter()]\n")
    script = Path(template_src.path, "extensions/register_domain.py")
    args = ["--package", "shop", "--database", "postgres", "--domain", "invoices"]
    args += ["--router-module", "shop.api.v1.invoices", "--models-module", "shop.models.invoices"]
    done = subprocess.run(
        [sys.executable, str(script), *args, "--model", "Invoice"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "by hand" in done.stderr and "invoices_router" in done.stderr
    assert routers.read_text() == "from fastapi import APIRouter\n\nALL = [APIRouter()]\n"


# ---------------------------------------------------------------------------------------------
# The generated domains pass the service's checks and suite
# ---------------------------------------------------------------------------------------------

PAIRS = [
    pytest.param({"database": "postgres", "layout": "layered"}, True, id="postgres-layered"),
    pytest.param({"database": "mongodb", "layout": "domain"}, True, id="mongodb-domain"),
    pytest.param({"database": "postgres", "layout": "domain"}, False, id="postgres-domain"),
    pytest.param({"database": "mongodb", "layout": "layered"}, False, id="mongodb-layered"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("pair", "suite"), PAIRS)
def test_domains_pass_the_service_checks(
    template_src: TemplateSource,
    generated_dir: Path,
    services: Services,
    pair: dict[str, str],
    suite: bool,
    record_property: Callable[[str, object], None],
) -> None:
    started = time.perf_counter()
    answers = {**SERVICE, **pair, "queue": "background_tasks"}
    project = render(template_src, generated_dir / "project", answers)
    commit_all(project, "service")
    add_domain(template_src, project, "invoices", {"domain_fields": EVERY_TYPE})
    add_domain(template_src, project, "notes", {"domain_owned": False})
    checks = GENERATED_CHECKS if suite else GENERATED_CHECKS[:3]
    try:
        env = services.env_for(answers) if suite else {}
    except ServiceUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    run = run_generated_project(project, python_for(project), env, checks=checks)
    record_property("timings", {**run.timings, "total": round(time.perf_counter() - started, 1)})
    run.assert_ok()
    assert (project / "tests/test_invoices.py").exists()


# ---------------------------------------------------------------------------------------------
# `copier update` of a domain: a new release reaches it, the user's edits stay
# ---------------------------------------------------------------------------------------------

NEXT = "99.0.0"
CHANGED_LINE = '"""HTTP routes of the {{ D }} domain: parse, call one service function, return.'


@pytest.mark.slow
def test_domain_update_keeps_edits(tmp_path: Path) -> None:
    repo = tmp_path / "template"
    snapshot_template(repo)
    git("init", "--quiet", cwd=repo)
    commit_all(repo, "release")
    current = "0.4.0"
    git("tag", current, cwd=repo)
    router = next((repo / "domain-template").rglob("*'router'*.jinja"))
    text = router.read_text()
    assert CHANGED_LINE in text
    router.write_text(text.replace(CHANGED_LINE, CHANGED_LINE + " (release 99)"))
    commit_all(repo, "release 99")
    git("tag", NEXT, cwd=repo)

    source = TemplateSource(str(repo), current)
    project = render(source, tmp_path / "shop", SERVICE)
    commit_all(project, "service")
    add_domain(source, project, "invoices", {"domain_fields": "title:str, amount:decimal"})
    commit_all(project, "invoices")
    service_file = project / "src/shop/services/invoices.py"
    edited = service_file.read_text() + "\n\ndef mine() -> int:\n    return 1\n"
    service_file.write_text(edited)
    test_file = project / "tests/test_invoices.py"
    test_file.write_text(test_file.read_text().replace('URL = "/api/v1/invoices"', 'URL = "/x"'))
    commit_all(project, "my edits")

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "update",
            "--trust",
            "--defaults",
            "-r",
            NEXT,
            "-a",
            ".copier-answers.domain-invoices.yml",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    assert service_file.read_text() == edited
    assert 'URL = "/x"' in test_file.read_text()
    router_text = (project / "src/shop/api/v1/invoices.py").read_text()
    assert "domain: parse, call one service function, return. (release 99)" in router_text
    answers = yaml.safe_load((project / ".copier-answers.domain-invoices.yml").read_text())
    assert answers["_commit"] == NEXT
    assert answers["domain_fields"] == "title:str, amount:decimal"
    status = git("status", "--porcelain", cwd=project)
    assert "<<<<<<<" not in "".join(
        path.read_text(errors="replace") for path in project.rglob("*.py")
    )
    changed = sorted(line[3:] for line in status.splitlines())
    assert changed == [".copier-answers.domain-invoices.yml", "src/shop/api/v1/invoices.py"]
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == current
