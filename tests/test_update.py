"""`copier update`: releases, migrations, files the project owns, answers that change.

The tests build their own template repository with real release tags: the first release
(0.1.0, from Git history) and the working tree as the newest release named in CHANGELOG.md
(uncommitted template work included, as everywhere in this suite). Projects are copied from the
older release, committed, edited the way users edit them, and updated with Copier's CLI. An
update is right when its result is exactly a fresh copy of the new release plus the same edits.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from _services import Services, ServiceUnavailable
from conftest import (
    COPIER_YML,
    REPO,
    choice_values,
    find_python,
    refusal_of,
    required_python,
    run_generated_project,
    snapshot_template,
    uv_binary,
    uv_cache_dir,
)
from copier.errors import UserMessageError
from packaging.version import Version

OLD_RELEASE = "0.1.0"
# The commit released as 0.1.0, for clones that lack the tag.
OLD_RELEASE_COMMIT = "b3be64f"
CHANGELOG = REPO / "CHANGELOG.md"
# A release after the newest one, made by the tests from the working tree (see next_release).
NEXT_RELEASE_BUMP = "99.0.0"

GIT_IDENTITY = ("-c", "user.name=Update Test", "-c", "user.email=update@example.com")
GIT_QUIET = (
    "-c",
    "init.defaultBranch=main",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "advice.detachedHead=false",
)
CONFLICT_LINE = re.compile(rb"^(<<<<<<< |=======$|>>>>>>> )", re.M)


# ---------------------------------------------------------------------------------------------
# Releases in a temporary template repository
# ---------------------------------------------------------------------------------------------


def git(*args: str, cwd: Path, check: bool = True) -> str:
    completed = subprocess.run(
        ["git", *GIT_IDENTITY, *GIT_QUIET, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and completed.returncode != 0:
        pytest.fail(f"git {' '.join(args)} failed in {cwd}:\n{completed.stderr}", pytrace=False)
    return completed.stdout


def changelog_versions() -> list[Version]:
    """Release versions of CHANGELOG.md's `## <version>` headings, newest first."""
    headings = re.findall(r"^## \[?(\d[^\s\]]*)", CHANGELOG.read_text(encoding="utf-8"), re.M)
    return [Version(heading) for heading in headings]


def current_release() -> str:
    return str(max(changelog_versions()))


def old_release_ref() -> str | None:
    for ref in (f"refs/tags/{OLD_RELEASE}", OLD_RELEASE_COMMIT):
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if found.returncode == 0:
            return found.stdout.strip()
    return None


def clear_worktree(repo: Path) -> None:
    for child in repo.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def commit_release(repo: Path, version: str) -> None:
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "--allow-empty", "-m", f"release {version}", cwd=repo)
    git("tag", version, cwd=repo)


@dataclass(frozen=True)
class Releases:
    """A template repository whose tags are releases: ``old`` then ``current``."""

    path: Path
    old: str
    current: str


@pytest.fixture(scope="session")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Releases:
    ref = old_release_ref()
    if ref is None:
        pytest.skip(f"release {OLD_RELEASE} not in this clone's history (shallow clone?)")
    repo = tmp_path_factory.mktemp("template-releases")
    git("init", "--quiet", cwd=repo)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x"], cwd=repo, input=archive, check=True)
    commit_release(repo, OLD_RELEASE)
    clear_worktree(repo)
    snapshot_template(repo)
    current = current_release()
    commit_release(repo, current)
    return Releases(repo, OLD_RELEASE, current)


# ---------------------------------------------------------------------------------------------
# Projects
# ---------------------------------------------------------------------------------------------


def copy_project(template: Path, version: str, dst: Path, answers: Mapping[str, Any]) -> Path:
    copier.run_copy(
        src_path=str(template),
        dst_path=str(dst),
        data=dict(answers),
        vcs_ref=version,
        defaults=True,
        unsafe=True,
        quiet=True,
    )
    return dst


def commit_all(project: Path, message: str) -> None:
    if not (project / ".git").exists():
        git("init", "--quiet", cwd=project)
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "--allow-empty", "-m", message, cwd=project)


def copier_cli(
    *args: str, cwd: Path, copier_command: Sequence[str] = (sys.executable, "-m", "copier")
) -> subprocess.CompletedProcess[str]:
    """The `copier` command users run, by default with this suite's Copier."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPIER_")}
    env.update(
        GIT_AUTHOR_NAME="Update Test",
        GIT_AUTHOR_EMAIL="update@example.com",
        GIT_COMMITTER_NAME="Update Test",
        GIT_COMMITTER_EMAIL="update@example.com",
        NO_COLOR="1",
    )
    return subprocess.run(
        [*copier_command, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def update(
    project: Path,
    version: str,
    *data: str,
    trust: bool = True,
    copier_command: Sequence[str] = (sys.executable, "-m", "copier"),
) -> subprocess.CompletedProcess[str]:
    args = ["update", "--defaults", "--vcs-ref", version]
    if trust:
        args.append("--trust")
    for item in data:
        args += ["--data", item]
    return copier_cli(*args, ".", cwd=project, copier_command=copier_command)


def project_tree(project: Path) -> dict[str, tuple[bytes, bool]]:
    """Relative path -> (content, executable) of every file but Git's."""
    return {
        path.relative_to(project).as_posix(): (path.read_bytes(), os.access(path, os.X_OK))
        for path in sorted(project.rglob("*"))
        if ".git" not in path.relative_to(project).parts and (path.is_file() or path.is_symlink())
    }


def tree_difference(got: Path, expected: Path) -> str:
    """A readable account of how two project trees differ, or ``""``."""
    left, right = project_tree(got), project_tree(expected)
    lines = [f"only in the updated project: {p}" for p in sorted(left.keys() - right.keys())]
    lines += [f"missing from the updated project: {p}" for p in sorted(right.keys() - left.keys())]
    for path in sorted(left.keys() & right.keys()):
        if left[path] != right[path]:
            diff = subprocess.run(
                ["git", "diff", "--no-index", "--", str(expected / path), str(got / path)],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            lines.append(f"differs: {path}\n{diff[-3000:]}")
    return "\n".join(lines)


def conflicted_files(project: Path) -> list[str]:
    return [
        relative
        for relative, (content, _) in project_tree(project).items()
        if CONFLICT_LINE.search(content)
    ]


def git_status(project: Path) -> str:
    return git("status", "--porcelain", "--untracked-files=all", cwd=project)


def package_dir(project: Path) -> Path:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    return project / "src" / str(answers["package_name"])


def layout_of(project: Path) -> str:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    return str(answers["layout"])


@functools.cache
def helpers_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "update_helpers", REPO / "extensions" / "helpers.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------
# What users do to their project (each edit works on any release, so it can be replayed on a
# fresh copy of the new release to get the expected result)
# ---------------------------------------------------------------------------------------------


def insert_after(path: Path, anchor: str, lines: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(anchor) == 1, f"{path}: anchor {anchor!r} found {text.count(anchor)} times"
    path.write_text(text.replace(anchor, anchor + lines), encoding="utf-8")


def insert_before(path: Path, anchor: str, lines: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(anchor) == 1, f"{path}: anchor {anchor!r} found {text.count(anchor)} times"
    path.write_text(text.replace(anchor, lines + anchor), encoding="utf-8")


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: {old!r} found {text.count(old)} times"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append_to_list(pyproject: Path, opening: str, item: str) -> None:
    """Append ``item`` to the TOML list opened by ``opening``, as `uv add` does."""
    text = pyproject.read_text(encoding="utf-8")
    start = text.index(opening)
    end = text.index("\n]", start)
    pyproject.write_text(text[:end] + f"\n    {item}," + text[end:], encoding="utf-8")


INVOICES_ROUTER = '''"""Invoices: the service's own domain, added after the first copy."""

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(prefix="/invoices", tags=["invoices"])


class InvoiceSummary(BaseModel):
    prefix: str
    count: int


@router.get("/summary", response_model=InvoiceSummary, status_code=200, summary="Summarise")
async def summarise_invoices() -> InvoiceSummary:
    return InvoiceSummary(prefix="{prefix}", count=0)
'''

INVOICES_TEST = '''"""The service's own test of its own domain."""

from httpx import AsyncClient


async def test_invoice_summary(client: AsyncClient) -> None:
    response = await client.get("/api/v1/invoices/summary")

    assert response.status_code == 200
    assert response.json() == {"prefix": "INV", "count": 0}
'''

README_SECTION = "\n## Deploying\n\nOur own notes: blue/green behind the load balancer.\n"


INVOICES_ROUTER_WITH_SETTINGS = '''"""Invoices: the service's own domain, with its own setting."""

from fastapi import APIRouter
from pydantic import BaseModel

from {package}.core.config import SettingsDep

router = APIRouter(prefix="/invoices", tags=["invoices"])


class InvoiceSummary(BaseModel):
    prefix: str
    count: int


@router.get("/summary", response_model=InvoiceSummary, status_code=200, summary="Summarise")
async def summarise_invoices(settings: SettingsDep) -> InvoiceSummary:
    return InvoiceSummary(prefix=settings.invoice_prefix, count=0)
'''


def add_invoices_domain(project: Path, *, with_settings: bool = False) -> str:
    """A new domain module in the layout's place; returns its dotted module path."""
    root = package_dir(project)
    place = helpers_module().module_place(layout_of(project), "invoices", "router")
    module = root / place
    module.parent.mkdir(parents=True, exist_ok=True)
    init = module.parent / "__init__.py"
    if not init.exists():
        init.write_text("", encoding="utf-8")
    source = INVOICES_ROUTER_WITH_SETTINGS if with_settings else INVOICES_ROUTER
    module.write_text(source.format(prefix="INV", package=root.name), encoding="utf-8")
    (project / "tests" / "test_invoices.py").write_text(INVOICES_TEST, encoding="utf-8")
    return ".".join([root.name, *place.removesuffix(".py").split("/")])


# A setting added to core/config.py's Settings, the only place 0.1.0 had for one.
OWN_SETTING_OF_0_1 = '    invoice_prefix: str = "INV"\n'


def act_on_the_changelog_after_0_1(project: Path) -> None:
    """What CHANGELOG.md tells a project updated from 0.1.0 with settings of its own to do:
    list them in .env.example below its marker (the generated suite checks every setting)."""
    env_example = project / ".env.example"
    assert env_example.read_text(encoding="utf-8").splitlines()[-1].startswith("# Yours below")
    with env_example.open("a", encoding="utf-8") as listed:
        listed.write("INVOICE_PREFIX=INV\n")


def edit_like_a_user_of_0_1(project: Path) -> None:
    """What a project made from 0.1.0 changes: no extension points yet, so templated files."""
    root = package_dir(project)
    dotted = add_invoices_domain(project)
    # Register the router in main.py, in the place ruff's isort wants the import.
    orders = helpers_module().module_dotted(root.name, layout_of(project), "orders", "router")
    main = root / "main.py"
    insert_before(
        main,
        f"from {orders} import router as orders_router\n",
        f"from {dotted} import router as invoices_router\n",
    )
    insert_after(main, "    orders_router,\n", "    invoices_router,\n")
    append_to_list(project / "pyproject.toml", "dependencies = [", '"anyio>=4.0"')
    append_to_list(project / "pyproject.toml", "dev = [", '"pytest-timeout>=2.3"')
    # A setting default and a setting of its own, on lines whose neighbours the template keeps
    # stable. (An edit right next to lines a release changes conflicts; that is what
    # settings.py is for since 0.2.0.)
    replace_once(
        root / "core" / "config.py",
        "smtp_timeout_seconds: float = 10.0\n",
        "smtp_timeout_seconds: float = 30.0\n" + OWN_SETTING_OF_0_1,
    )
    with (project / "README.md").open("a", encoding="utf-8") as readme:
        readme.write(README_SECTION)
    # The file 0.2.0 renamed: the edit must survive the rename.
    conventions = project / "tests" / "test_openapi.py"
    if not conventions.exists():
        conventions = project / "tests" / "test_api_conventions.py"
    replace_once(
        conventions,
        "        assert len(route.tags) == 1, route.path\n",
        "        # Every route belongs to exactly one domain.\n"
        "        assert len(route.tags) == 1, route.path\n",
    )


README_OWN = "The invoicing service of Acme: it bills orders at the end of each month.\n"


def edit_with_extension_points(project: Path) -> None:
    """What a project made from 0.2.0 or later changes: only the places meant for it."""
    root = package_dir(project)
    dotted = add_invoices_domain(project, with_settings=True)
    replace_once(
        root / "routers.py",
        "ROUTERS: tuple[APIRouter, ...] = ()\n",
        f"from {dotted} import router as invoices_router\n\n"
        "ROUTERS: tuple[APIRouter, ...] = (invoices_router,)\n",
    )
    (root / "settings.py").write_text(
        (root / "settings.py").read_text(encoding="utf-8") + '\n    invoice_prefix: str = "INV"\n',
        encoding="utf-8",
    )
    list_invoice_setting(project)
    append_to_list(project / "pyproject.toml", "dependencies = [", '"anyio>=4.0"')
    append_to_list(project / "pyproject.toml", "dev = [", '"pytest-timeout>=2.3"')
    insert_after(
        project / "README.md",
        "`copier update` never changes the lines between them. -->\n",
        "\n" + README_OWN,
    )


# ---------------------------------------------------------------------------------------------
# Updating from the first release
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", choice_values("layout"))
def test_update_from_first_release_keeps_user_edits(
    releases: Releases,
    tmp_path: Path,
    layout: str,
    record_property: Callable[[str, object], None],
) -> None:
    answers = {"project_name": "Acme Invoicing", "layout": layout}
    project = copy_project(releases.path, releases.old, tmp_path / "project", answers)
    commit_all(project, "copier copy")
    edit_like_a_user_of_0_1(project)
    commit_all(project, "our own work")
    touched = set(git("diff", "--name-only", "HEAD~1", "HEAD", cwd=project).split())
    untouched = set(project_tree(project)) - touched

    started = time.perf_counter()
    result = update(project, releases.current)
    record_property("timings", {"update": round(time.perf_counter() - started, 1)})
    assert result.returncode == 0, result.stderr

    assert not conflicted_files(project), f"conflicts: {conflicted_files(project)}\n{result.stderr}"
    assert not (untouched & set(conflicted_files(project)))
    expected = copy_project(releases.path, releases.current, tmp_path / "expected", answers)
    edit_like_a_user_of_0_1(expected)
    assert tree_difference(project, expected) == ""
    # The rename's migration ran: the old name is gone, the user's edit lives in the new one.
    assert not (project / "tests" / "test_openapi.py").exists()
    assert "Every route belongs to exactly one domain" in (
        project / "tests" / "test_api_conventions.py"
    ).read_text(encoding="utf-8")


def test_conflicting_edit_of_renamed_file_is_marked(releases: Releases, tmp_path: Path) -> None:
    """The project changed the very line the new release changed: markers, and Git knows."""
    project = copy_project(releases.path, releases.old, tmp_path / "project", {})
    commit_all(project, "copier copy")
    conventions = project / "tests" / "test_openapi.py"
    first_line = conventions.read_text(encoding="utf-8").splitlines()[0]
    replace_once(conventions, first_line, '"""Our API rules."""')
    commit_all(project, "our docstring")

    result = update(project, releases.current)

    assert result.returncode == 0, result.stderr
    merged = (project / "tests" / "test_api_conventions.py").read_text(encoding="utf-8")
    assert "<<<<<<< before updating" in merged and ">>>>>>> after updating" in merged
    assert '"""Our API rules."""' in merged
    unmerged = git("diff", "--name-only", "--diff-filter=U", cwd=project).split()
    assert "tests/test_api_conventions.py" in unmerged
    assert "test_api_conventions.py" in result.stderr


# ---------------------------------------------------------------------------------------------
# Updating a current project: extension points merge cleanly, same version changes nothing
# ---------------------------------------------------------------------------------------------


def make_next_release(releases: Releases, repo: Path) -> str:
    """The current release plus template changes right next to every extension point."""
    shutil.copytree(releases.path, repo, symlinks=True)
    template = repo / "template"
    pkg = template / "src" / "{{ package_name }}"
    # New dependencies of the template: the last ones of its lists, right above the user's.
    for opening, dependency in (
        ("dependencies = [", '"orjson>=3.10"'),
        ("dev = [", '"types-pyyaml>=6"'),
    ):
        text = (template / "pyproject.toml.jinja").read_text(encoding="utf-8")
        start = text.index(opening)
        marker = text.index("    # Yours below this line", start)
        text = text[:marker] + f"    {dependency},\n" + text[marker:]
        (template / "pyproject.toml.jinja").write_text(text, encoding="utf-8")
    # The template's own routers, settings and README text change around the user's places.
    replace_once(
        pkg / "main.py.jinja",
        "    orders_router,\n)",
        "    orders_router,  # the template's routers end here\n)",
    )
    config = pkg / "core" / "config.py.jinja"
    replace_once(
        config,
        '    email_sender: str = "{{ project_name }} <no-reply@example.com>"\n',
        '    email_sender: str = "{{ project_name }} <no-reply@example.com>"\n'
        "    email_reply_to: str | None = None\n",
    )
    for owned in ("routers.py.jinja", "settings.py"):
        path = pkg / owned
        path.write_text(path.read_text(encoding="utf-8") + "# Changed by the next release.\n")
    replace_once(
        template / "README.md.jinja",
        "\n\nGenerated from",
        "\n\nThis project was generated from",
    )
    next_version = NEXT_RELEASE_BUMP
    commit_release(repo, next_version)
    return next_version


@pytest.fixture(scope="session")
def next_release(releases: Releases, tmp_path_factory: pytest.TempPathFactory) -> Releases:
    repo = tmp_path_factory.mktemp("template-next") / "repo"
    version = make_next_release(releases, repo)
    return Releases(repo, releases.current, version)


@pytest.mark.parametrize("layout", choice_values("layout"))
def test_extension_points_merge_cleanly(
    next_release: Releases,
    tmp_path: Path,
    layout: str,
    record_property: Callable[[str, object], None],
) -> None:
    answers = {"layout": layout}
    project = copy_project(next_release.path, next_release.old, tmp_path / "project", answers)
    commit_all(project, "copier copy")
    edit_with_extension_points(project)
    commit_all(project, "our own work")

    started = time.perf_counter()
    result = update(project, next_release.current)
    record_property("timings", {"update": round(time.perf_counter() - started, 1)})
    assert result.returncode == 0, result.stderr

    assert not conflicted_files(project), conflicted_files(project)
    expected = copy_project(next_release.path, next_release.current, tmp_path / "expected", answers)
    # Files the project owns are exactly as the project left them, whatever the release says.
    for owned in ("routers.py", "settings.py"):
        (package_dir(expected) / owned).write_text(
            (package_dir(project) / owned).read_text(encoding="utf-8"), encoding="utf-8"
        )
    edit_with_extension_points_except_owned(expected)
    assert tree_difference(project, expected) == ""
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert pyproject.index('"orjson>=3.10"') < pyproject.index('"anyio>=4.0"')


def list_invoice_setting(project: Path) -> None:
    """Every setting is listed in .env.example (the generated suite checks it)."""
    with (project / ".env.example").open("a", encoding="utf-8") as env_example:
        env_example.write("INVOICE_PREFIX=INV\n")


def edit_with_extension_points_except_owned(project: Path) -> None:
    """``edit_with_extension_points`` for the files not owned by the project."""
    add_invoices_domain(project, with_settings=True)
    list_invoice_setting(project)
    append_to_list(project / "pyproject.toml", "dependencies = [", '"anyio>=4.0"')
    append_to_list(project / "pyproject.toml", "dev = [", '"pytest-timeout>=2.3"')
    insert_after(
        project / "README.md",
        "`copier update` never changes the lines between them. -->\n",
        "\n" + README_OWN,
    )


OTHER_CHOICES = {"database": "mongodb", "queue": "celery", "layout": "domain"}


@pytest.mark.parametrize(
    ("answers", "edited"),
    [({}, False), ({}, True), (OTHER_CHOICES, True)],
    ids=["defaults-pristine", "defaults-edited", "other-choices-edited"],
)
def test_same_version_update_changes_nothing(
    releases: Releases, tmp_path: Path, answers: dict[str, str], edited: bool
) -> None:
    for question, answer in answers.items():
        if not offered(question, answer, releases, tmp_path):
            pytest.skip(f"{question}={answer} is not offered by this release")
    project = copy_project(releases.path, releases.current, tmp_path / "project", answers)
    commit_all(project, "copier copy")
    if edited:
        edit_with_extension_points(project)
        commit_all(project, "our own work")

    result = update(project, releases.current)

    assert result.returncode == 0, result.stderr
    assert git_status(project) == ""


def test_update_without_trust_is_refused(releases: Releases, tmp_path: Path) -> None:
    project = copy_project(releases.path, releases.old, tmp_path / "project", {})
    commit_all(project, "copier copy")

    result = update(project, releases.current, trust=False)

    assert result.returncode != 0
    assert "--trust" in result.stderr and "jinja_extensions" in result.stderr, result.stderr
    assert git_status(project) == ""


# ---------------------------------------------------------------------------------------------
# Answers changed through an update
# ---------------------------------------------------------------------------------------------


def other_choice(question: str, current: str) -> str:
    return next(value for value in choice_values(question) if value != current)


@pytest.mark.parametrize(
    ("question", "new_answer"),
    [
        ("layout", other_choice("layout", "layered")),
        ("database", other_choice("database", "postgres")),
        ("package_name", "renamed_service"),
    ],
)
def test_answer_change_that_would_strand_code_is_refused(
    releases: Releases, tmp_path: Path, question: str, new_answer: str
) -> None:
    project = copy_project(releases.path, releases.current, tmp_path / "project", {})
    commit_all(project, "copier copy")
    before = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))

    result = update(project, releases.current, f"{question}={new_answer}")

    assert result.returncode != 0
    message = " ".join(result.stderr.split())
    assert f"{question}: changing {before[question]!r} to {new_answer!r}" in message, message
    assert "not supported" in message and "copier copy" in message
    # One clear line, not Copier's traceback of a ValueError.
    assert "Traceback" not in result.stderr, result.stderr
    assert git_status(project) == ""


def test_refusal_applies_to_recopy_but_not_to_a_new_copy(
    releases: Releases, tmp_path: Path
) -> None:
    project = copy_project(releases.path, releases.current, tmp_path / "project", {})
    commit_all(project, "copier copy")
    with pytest.raises(UserMessageError) as caught:
        copier.run_recopy(
            str(project),
            data={"layout": "domain"},
            defaults=True,
            unsafe=True,
            quiet=True,
            overwrite=True,
        )
    refusal = refusal_of(caught.value)
    assert refusal is not None and refusal.question == "layout", caught.value
    fresh = copy_project(releases.path, releases.current, tmp_path / "fresh", {"layout": "domain"})
    assert (package_dir(fresh) / "users" / "router.py").is_file()


# ---------------------------------------------------------------------------------------------
# Migrations: idempotent, declared for the releases they belong to
# ---------------------------------------------------------------------------------------------


def migrations() -> list[dict[str, Any]]:
    config: dict[str, Any] = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    return list(config.get("_migrations", []))


def migrate_script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "extensions" / "migrate.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_migrations_name_released_versions_and_run_offline() -> None:
    released = {str(version) for version in changelog_versions()}
    for migration in migrations():
        assert str(migration["version"]) in released, migration
        command = " ".join(migration["command"])
        assert "extensions/migrate.py" in command, command
        assert not re.search(r"https?://|curl|wget|pip install", command), command


def test_marker_lines_match_the_template(releases: Releases, tmp_path: Path) -> None:
    """The marker lines the migrations look for are the ones a fresh copy has."""
    fresh = copy_project(releases.path, releases.current, tmp_path / "fresh", {})
    pyproject = (fresh / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    markers = [
        str(command[command.index("--marker") + 1])
        for command in (migration["command"] for migration in migrations())
        if "settle-marker-conflicts" in command
    ]
    assert markers
    for marker in markers:
        assert marker in pyproject, marker
        closing = pyproject.index(marker) + 1
        assert pyproject[closing] == "]", "a marker must be its list's last line"


SETTLEABLE = """\
deps = [
    "alembic",
<<<<<<< before updating
    "anyio",
=======
    # mark
>>>>>>> after updating
]
other = [
<<<<<<< before updating
    "ruff>=0.13",
=======
    "ruff>=0.12",
    # mark
>>>>>>> after updating
]
"""


def test_settle_marker_conflicts_is_narrow_and_idempotent(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(SETTLEABLE)
    commit_all(project, "start")
    args = ("settle-marker-conflicts", "--file", "pyproject.toml", "--marker", "    # mark")
    results = []
    for _ in range(2):
        assert migrate_script(*args, cwd=project).returncode == 0
        results.append((project / "pyproject.toml").read_text())
    assert results[0] == results[1]
    settled, untouched = results[0].split("other = [")
    assert settled == 'deps = [\n    "alembic",\n    # mark\n    "anyio",\n]\n'
    assert untouched == SETTLEABLE.split("other = [")[1], "a real conflict must stay"


def test_move_file_is_idempotent_and_keeps_edits(releases: Releases, tmp_path: Path) -> None:
    """Run twice in the state Copier leaves: one merge, the same bytes, nothing lost."""
    project = copy_project(releases.path, releases.old, tmp_path / "project", {})
    conventions = project / "tests" / "test_openapi.py"
    replace_once(conventions, "def api_routes(", "# ours\ndef api_routes(")
    commit_all(project, "ours")
    # What Copier leaves before the migration: the new release's file, the old one deleted.
    new_file = project / "tests" / "test_api_conventions.py"
    new_file.write_bytes(
        (releases.path / "template" / "tests" / "test_api_conventions.py").read_bytes()
    )
    conventions.unlink()
    args = (
        "move-file",
        "--template",
        str(releases.path),
        "--from-ref",
        releases.old,
        "--old",
        "tests/test_openapi.py",
        "--new",
        "tests/test_api_conventions.py",
    )
    results = []
    for _ in range(2):
        assert migrate_script(*args, cwd=project).returncode == 0
        results.append(new_file.read_bytes())
    assert results[0] == results[1]
    assert b"# ours\ndef api_routes(" in results[0]
    assert b"the template's and yours" in results[0]
    assert not conventions.exists()


# ---------------------------------------------------------------------------------------------
# Conflict markers never get committed
# ---------------------------------------------------------------------------------------------


def check_merge_conflict() -> str:
    found = shutil.which("check-merge-conflict", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("check-merge-conflict (pre-commit-hooks) not installed: uv sync", pytrace=False)
    return found


def test_pre_commit_config_checks_for_conflict_markers() -> None:
    config = yaml.safe_load((REPO / "template" / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert "--assume-in-merge" in hooks["check-merge-conflict"].get("args", [])


def test_conflict_markers_are_caught_and_a_fresh_project_has_none(
    releases: Releases, tmp_path: Path
) -> None:
    project = copy_project(releases.path, releases.current, tmp_path / "project", {})
    files = [str(path) for path in project.rglob("*") if path.is_file()]
    clean = subprocess.run(
        [check_merge_conflict(), "--assume-in-merge", *files], capture_output=True, text=True
    )
    assert clean.returncode == 0, clean.stdout
    assert not conflicted_files(project)

    conflicted = project / "pyproject.toml"
    conflicted.write_text(
        conflicted.read_text()
        + "<<<<<<< before updating\nours\n=======\ntheirs\n>>>>>>> after updating\n"
    )
    caught = subprocess.run(
        [check_merge_conflict(), "--assume-in-merge", str(conflicted)],
        capture_output=True,
        text=True,
    )
    assert caught.returncode == 1
    assert "Merge conflict string" in caught.stdout


# ---------------------------------------------------------------------------------------------
# Rendering is deterministic: nothing but answers decides a byte
# ---------------------------------------------------------------------------------------------

JINJA_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
NONDETERMINISTIC = re.compile(
    r"\b(now|utcnow|today|random|randint|shuffle|uuid\d?|token_hex|token_urlsafe|make_secret"
    r"|strftime|datetime|time|date|vcs_ref_hash|_copier_python|_folder_name)\b"
)


def test_no_template_code_reads_a_clock_or_a_random_source() -> None:
    template = REPO / "template"
    for path in sorted(template.rglob("*")):
        relative = path.relative_to(template).as_posix()
        for code in JINJA_CODE.findall(relative):
            assert not NONDETERMINISTIC.search(code), f"path {relative}: {code}"
        if path.is_file() and path.name.endswith(".jinja"):
            for code in JINJA_CODE.findall(path.read_text(encoding="utf-8")):
                assert not NONDETERMINISTIC.search(code), f"{relative}: {code}"
    helpers = (REPO / "extensions" / "helpers.py").read_text(encoding="utf-8")
    assert not re.search(r"^(import|from) (random|secrets|uuid|time|datetime)\b", helpers, re.M)


def test_answers_file_records_only_answers_and_the_release(
    releases: Releases, tmp_path: Path
) -> None:
    project = copy_project(releases.path, releases.current, tmp_path / "project", {})
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    private = {key for key in recorded if key.startswith("_")}
    assert private == {"_commit", "_src_path"}
    assert recorded["_commit"] == releases.current


# ---------------------------------------------------------------------------------------------
# Slow: updated projects pass their own checks
# ---------------------------------------------------------------------------------------------


def offered(question: str, answer: str, releases: Releases, tmp_path: Path) -> bool:
    """Whether the current release accepts ``answer`` (choices not offered yet are refused)."""
    try:
        copier.run_copy(
            src_path=str(releases.path),
            dst_path=str(tmp_path / f"probe-{answer}"),
            data={question: answer},
            vcs_ref=releases.current,
            defaults=True,
            unsafe=True,
            quiet=True,
            pretend=True,
        )
    except ValueError as error:
        if refusal_of(error) is None:
            raise
        return False
    return True


def answer_change(releases: Releases, tmp_path: Path) -> tuple[str, str]:
    """The answer change to prove: a queue backend if one besides the default is offered."""
    for queue in ("celery", "arq", "taskiq"):
        if queue in choice_values("queue") and offered("queue", queue, releases, tmp_path):
            return "queue", queue
    return "python_version", "3.12"


def python_for(project: Path) -> str:
    minimum = required_python(project)
    python = find_python(minimum)
    if python is None:
        pytest.fail(f"no Python >= {minimum}: set GENERATED_PYTHON", pytrace=False)
    return python


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["from-first-release", "answer-change-with-own-code"])
def test_updated_project_passes_its_own_checks(
    releases: Releases,
    tmp_path: Path,
    services: Services,
    scenario: str,
    record_property: Callable[[str, object], None],
) -> None:
    """Updated projects with the users' own code install, lint, type-check and pass.

    from-first-release: a 0.1.0 project edited without extension points, updated.
    answer-change-with-own-code: a current project using the extension points changes an
    answer through the update (a queue backend when one is offered): no file of the old choice
    is left, and the result is a fresh copy with the new answer plus the same own code.
    """
    started = time.perf_counter()
    edit: Callable[[Path], None]
    data: tuple[str, ...] = ()
    answers: dict[str, str] = {}
    if scenario == "from-first-release":
        edit, old = edit_like_a_user_of_0_1, releases.old
    else:
        question, new_answer = answer_change(releases, tmp_path)
        answers = {question: new_answer}
        edit, old = edit_with_extension_points, releases.current
        data = (f"{question}={new_answer}",)
    project = copy_project(releases.path, old, tmp_path / "project", {})
    commit_all(project, "copier copy")
    edit(project)
    commit_all(project, "our own work")
    result = update(project, releases.current, *data)
    seconds = round(time.perf_counter() - started, 1)
    assert result.returncode == 0, result.stderr
    assert not conflicted_files(project), conflicted_files(project)
    expected = copy_project(releases.path, releases.current, tmp_path / "expected", answers)
    edit(expected)
    assert tree_difference(project, expected) == ""

    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert all(recorded[question] == answer for question, answer in answers.items())
    if scenario == "from-first-release":
        act_on_the_changelog_after_0_1(project)
    try:
        env = services.env_for(recorded)
    except ServiceUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    run = run_generated_project(project, python_for(project), env)
    record_property("timings", {"update": seconds, **run.timings})
    run.assert_ok()


@pytest.mark.slow
def test_oldest_supported_copier_updates_as_well(releases: Releases, tmp_path: Path) -> None:
    """`_min_copier_version` is honest: that Copier runs the same update to the same result."""
    config: dict[str, Any] = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    minimum = str(config["_min_copier_version"])
    oldest = (
        uv_binary(),
        "tool",
        "run",
        "--cache-dir",
        str(uv_cache_dir()),
        "--from",
        f"copier=={minimum}",
        "--with",
        "copier-template-extensions",
        "copier",
    )
    version = copier_cli("--version", cwd=tmp_path, copier_command=oldest)
    assert version.returncode == 0 and minimum in version.stdout + version.stderr, version
    answers = {"layout": "domain"}
    project = copy_project(releases.path, releases.old, tmp_path / "project", answers)
    commit_all(project, "copier copy")
    edit_like_a_user_of_0_1(project)
    commit_all(project, "our own work")

    result = update(project, releases.current, copier_command=oldest)

    assert result.returncode == 0, result.stderr
    expected = copy_project(releases.path, releases.current, tmp_path / "expected", answers)
    edit_like_a_user_of_0_1(expected)
    assert tree_difference(project, expected) == ""
