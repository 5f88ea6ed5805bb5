"""Domains added to a generated service (`--data domain=...`, docs/domains.md).

Covering subset, argued in docs/domains.md: the generated domain's code differs by database
(model and repository files) and by layout (paths and imports only). So the full suite runs
for PostgreSQL/layered and MongoDB/domain, each with two domains (one owned with every field
type, one shared), which between them render every domain module in both databases and both
layouts; the two other pairs are rendered and checked by ruff, ruff format and mypy. By queue
it does not differ at all (test_a_domain_is_the_same_whatever_the_queue), so every service
here takes `background_tasks`.
"""

from __future__ import annotations

import re
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
    REPO,
    TemplateSource,
    assert_refusal,
    find_python,
    refusal_of,
    render,
    required_python,
    run_generated_project,
    snapshot_template,
)
from test_update import (
    Releases,
    commit_all,
    commit_release,
    conflicted_files,
    copier_cli,
    current_release,
    git,
    helpers_module,
    project_tree,
    replace_once,
    tree_difference,
)

EVERY_TYPE = (
    "title:str, code:str(12)!, amount:decimal, quantity:int?, paid:bool, due:date?, "
    "sent_at:datetime?, ref:uuid?, status:enum(draft|sent|paid)"
)
SERVICE = {"project_name": "Shop", "package_name": "shop"}
# A date stamp of a domain (its migration's name, its answers): domains added at different
# minutes differ in these only.
TIMESTAMP = re.compile(rb"\d{4}_\d\d_\d\d_\d{4}")


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
    versions = next(Path(template_src.path, "template").glob("*migrations*")) / "versions"
    assert answers["domain_migration_parent"] == helpers_module().alembic_heads(versions)
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


def join_heads(versions: Path, heads: str) -> str:
    """extensions/join_migration_heads.py, as copier.yml's task runs it; what it said."""
    script = REPO / "extensions" / "join_migration_heads.py"
    done = subprocess.run(
        [sys.executable, str(script), "--heads", heads, "--versions", str(versions)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stderr


def test_two_migration_heads_are_joined_once(tmp_path: Path) -> None:
    heads_of = helpers_module().alembic_heads
    versions = tmp_path / "versions"
    versions.mkdir()
    for revision, parent in (("0001", None), ("0002", "0001"), ("invoices_0001", "0001")):
        (versions / f"2026_01_01_0000-{revision}_x.py").write_text(
            f"revision: str = {revision!r}\ndown_revision: str | None = {parent!r}\n"
        )
    (versions / "notes.py").write_text("not Python (\n")  # left out, not a failed render
    assert heads_of(versions) == "0002,invoices_0001"
    assert join_heads(versions, "0002") == ""  # one head: nothing to join
    assert not list(versions.glob("*merge_*.py"))

    said = join_heads(versions, heads_of(versions))
    (merge,) = versions.glob("*merge_*.py")
    assert "0002, invoices_0001" in said and merge.name in said
    revision = heads_of(versions)  # its tuple of parents, on several lines, is read
    assert revision.startswith("merge_") and f"-{revision}_join_heads.py" in merge.name
    # Idempotent, and the same heads in any order are the same merge.
    assert join_heads(versions, "invoices_0001,0002") == ""
    assert list(versions.glob("*merge_*.py")) == [merge]


@pytest.mark.parametrize(("database", "queue"), [("postgres", "celery"), ("mongodb", "arq")])
def test_a_domain_is_the_same_whatever_the_queue(
    template_src: TemplateSource, tmp_path: Path, database: str, queue: str
) -> None:
    """Why the services below all take `background_tasks`: a domain's answers do not include
    the queue, and what it adds (its files, its registration in `routers.py` and in
    `migrations/env.py` or `core/database.py`) is the same with a Redis queue, though the
    service around it differs (worker, dispatch adapter, Redis rate limiter, and on MongoDB
    the event bus on Redis pub/sub; a domain publishes no live events). One Redis queue per
    database: the three differ from each other in the adapter and worker modules only."""
    changes = {}
    for each in ("background_tasks", queue):
        answers = {**SERVICE, "database": database, "queue": each}
        project = render(template_src, tmp_path / each / "shop", answers)
        commit_all(project, "service")
        add_domain(template_src, project, "invoices", {"domain_fields": EVERY_TYPE})
        git("add", "--all", cwd=project)
        diff = git("diff", "--cached", "--no-prefix", cwd=project).splitlines(keepends=True)
        lines = [line for line in diff if not line.startswith("index ")]  # blobs' hashes
        changes[each] = TIMESTAMP.sub(b"DATE", "".join(lines).encode())
    assert b"+++ src/shop/routers.py" in changes[queue]
    assert changes[queue] == changes["background_tasks"]


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
# NEXT's own migration, on top of the service's head: what a release of the service adds.
SERVICE_MIGRATION = '''"""A sequence: the next release's migration (a test's stand-in for one).

Revision ID: 0099
Revises: {parent}
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0099"
down_revision: str | None = "{parent}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE next_release_number")


def downgrade() -> None:
    op.execute("DROP SEQUENCE next_release_number")
'''
# The user's own migration, as `make migration` writes it, after the domain was added.
USER_MIGRATION = SERVICE_MIGRATION.replace("0099", "mine_0001").replace("next_release", "my")


@pytest.fixture(scope="module")
def domain_releases(tmp_path_factory: pytest.TempPathFactory) -> Releases:
    """A template repository: this working tree as its newest release, then NEXT, in which the
    domain template changes one line and the service template adds a migration."""
    repo = tmp_path_factory.mktemp("domain-releases") / "template"
    snapshot_template(repo)
    git("init", "--quiet", cwd=repo)
    current = current_release()
    commit_release(repo, current)
    router = next((repo / "domain-template").rglob("*'router'*.jinja"))
    replace_once(router, CHANGED_LINE, CHANGED_LINE + " (release 99)")
    versions = next((repo / "template").glob("*migrations*")) / "versions"
    migration = SERVICE_MIGRATION.format(parent=helpers_module().alembic_heads(versions))
    (versions / "2099_01_01_0000-0099_next_release_number.py").write_text(migration)
    commit_release(repo, NEXT)
    return Releases(repo, current, NEXT)


def copier_update(project: Path, answers_file: str) -> None:
    """`copier update --trust --defaults -a <answers_file>` to NEXT, then a commit."""
    done = copier_cli(
        "update", "--trust", "--defaults", "--vcs-ref", NEXT, "-a", answers_file, cwd=project
    )
    assert done.returncode == 0, done.stderr
    assert conflicted_files(project) == []
    commit_all(project, f"update {answers_file}")


@pytest.mark.slow
def test_domain_update_keeps_edits(domain_releases: Releases, tmp_path: Path) -> None:
    source = TemplateSource(str(domain_releases.path), domain_releases.old)
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
    before = git("rev-parse", "HEAD", cwd=project).strip()

    copier_update(project, ".copier-answers.domain-invoices.yml")

    assert service_file.read_text() == edited
    assert 'URL = "/x"' in test_file.read_text()
    router_text = (project / "src/shop/api/v1/invoices.py").read_text()
    assert "domain: parse, call one service function, return. (release 99)" in router_text
    answers = yaml.safe_load((project / ".copier-answers.domain-invoices.yml").read_text())
    assert answers["_commit"] == NEXT
    assert answers["domain_fields"] == "title:str, amount:decimal"
    changed = sorted(git("diff", "--name-only", before, "HEAD", cwd=project).split())
    assert changed == [".copier-answers.domain-invoices.yml", "src/shop/api/v1/invoices.py"]
    service_answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert service_answers["_commit"] == domain_releases.old


# ---------------------------------------------------------------------------------------------
# The service and a domain updated in either order: one migration head, the checks pass
# ---------------------------------------------------------------------------------------------

ORDERS = {
    "service-then-domain": (".copier-answers.yml", ".copier-answers.domain-invoices.yml"),
    "domain-then-service": (".copier-answers.domain-invoices.yml", ".copier-answers.yml"),
}


def project_with_domain_and_own_migration(releases: Releases, dst: Path) -> Path:
    """A service and a domain of release `old`, the domain's service edited and a migration of
    the user's own on top of the domain's, all committed."""
    source = TemplateSource(str(releases.path), releases.old)
    project = render(source, dst, SERVICE)
    commit_all(project, "service")
    add_domain(source, project, "invoices", {"domain_fields": "title:str, amount:decimal"})
    service_file = project / "src/shop/services/invoices.py"
    service_file.write_text(service_file.read_text() + "\n\ndef mine() -> int:\n    return 1\n")
    versions = project / "migrations/versions"
    migration = USER_MIGRATION.format(parent=helpers_module().alembic_heads(versions))
    (versions / "2099_01_01_0001-mine_0001_my_number.py").write_text(migration)
    commit_all(project, "invoices, my edits and my migration")
    return project


def dateless(project: Path) -> dict[bytes, tuple[bytes, bool]]:
    """The project's files, every date stamp (in names, in the answers) blanked: projects whose
    domains were added at different minutes differ in these only."""
    return {
        TIMESTAMP.sub(b"DATE", path.encode()): (TIMESTAMP.sub(b"DATE", content), executable)
        for path, (content, executable) in project_tree(project).items()
    }


@pytest.mark.slow
def test_service_and_domain_update_in_either_order(
    domain_releases: Releases,
    tmp_path: Path,
    services: Services,
    record_property: Callable[[str, object], None],
) -> None:
    """NEXT's service migration and the user's own (on the domain's) both sit on the service's
    old head. Updated in either order, the project gets one merge revision joining them
    (copier.yml's task) and the same files both ways, the user's edits kept; so the checks, the
    migration tests (upgrade from empty, drift) and the domain's tests run once, on the first,
    after the user's next migration."""
    started = time.perf_counter()
    projects = []
    for name, answers_files in ORDERS.items():
        project = project_with_domain_and_own_migration(domain_releases, tmp_path / name / "shop")
        for answers_file in answers_files:
            copier_update(project, answers_file)
        versions = project / "migrations/versions"
        head = helpers_module().alembic_heads(versions)
        assert "," not in head, f"{name}: the migrations have the heads {head}"
        (merge,) = versions.glob("*-merge_*_join_heads.py")
        assert f"-{head}_join_heads.py" in merge.name
        assert '    "0099",\n    "mine_0001",\n' in merge.read_text()
        assert "def mine() -> int:" in (project / "src/shop/services/invoices.py").read_text()
        assert "MODELS = (User, Order, Invoice)" in (project / "migrations/env.py").read_text()
        assert "invoices_router" in (project / "src/shop/routers.py").read_text()
        projects.append(project)
    first, second = projects
    assert dateless(first) == dateless(second), tree_difference(first, second)

    try:
        env = services.env_for({**SERVICE, "database": "postgres"})
    except ServiceUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    alembic = ("run", "--no-sync", "alembic")
    pytest_args = ("run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short")
    checks = (
        # `make migration` without its database: Alembic refuses a new revision on two heads.
        ("alembic revision", (*alembic, "revision", "-m", "mine after the updates"), 120),
        ("alembic heads", (*alembic, "heads"), 120),
        *GENERATED_CHECKS[:3],
        ("pytest", (*pytest_args, "tests/test_migrations.py", "tests/test_invoices.py"), 600),
    )
    run = run_generated_project(first, python_for(first), env, checks=checks)
    record_property("timings", {**run.timings, "total": round(time.perf_counter() - started, 1)})
    run.assert_ok()
    heads = [line for line in run.steps[2].output.splitlines() if "(head)" in line]
    assert len(heads) == 1, run.steps[2].output
    assert heads[0].split()[0] == helpers_module().alembic_heads(first / "migrations/versions")
