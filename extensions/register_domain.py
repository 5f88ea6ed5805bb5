"""Register a domain added by `copier copy --data domain=...` in the service's own files.

Run by copier.yml's `_tasks` after a domain is copied or updated: standard library only,
offline, idempotent. It adds one import and one entry to

- `src/<package>/routers.py` (ROUTERS), the project's own file, so the routes are mounted;
- `migrations/env.py` (MODELS) on PostgreSQL, so Alembic sees the table;
- `src/<package>/core/database.py` (DOCUMENT_MODELS) on MongoDB, so Beanie binds the document
  and creates its indexes.

A file already holding the entry is left as it is. A file it cannot read the way the template
wrote it (a user rearranged it) is reported with the two lines to add by hand; the render
never fails because of it.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

LINE_LENGTH = 100


def _insert_import(lines: list[str], statement: str, package: str) -> None:
    """Insert a first-party import, sorted among the project's own, or as a new block after
    the last import."""
    own = [
        index
        for index, line in enumerate(lines)
        if line.startswith((f"from {package}.", f"import {package}."))
    ]
    if own:
        key = _module_of(statement)
        for index in own:
            if _module_of(lines[index]) > key:
                lines.insert(index, statement)
                return
        end = own[-1] + 1
        while end < len(lines) and lines[end].startswith(" "):
            end += 1  # a parenthesised import goes on
        lines.insert(end, statement)
        return
    last = max(
        (i for i, line in enumerate(lines) if line.startswith(("from ", "import "))), default=-1
    )
    if last < 0:
        raise LookupError("no import to put the new one after")
    lines[last + 1 : last + 1] = ["", statement]


def _module_of(statement: str) -> str:
    return statement.split()[1].lower()


def register(path: Path, *, statement: str, package: str, name: str, entry: str) -> str:
    """Add `statement` and `entry` to the tuple assigned to `name` in `path`; what was done."""
    if not path.is_file():
        return f"{path}: not found; add `{statement}` and `{entry}` to {name} by hand"
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(rf"^(?P<head>{name}\s*(?::[^=\n]*)?=\s*)\((?P<body>[^()]*)\)[ \t]*$", re.M)
    match = pattern.search(text)
    if match is None:
        return (
            f"{path}: no `{name} = (...)` tuple found; add `{statement}` and `{entry}` to it "
            "by hand"
        )
    entries = [item.strip() for item in match["body"].split(",") if item.strip()]
    has_import = statement in text.splitlines()
    if entry in entries and has_import:
        return f"{path}: {entry} already registered"
    if entry not in entries:
        entries.append(entry)
    one_line = (
        f"{match['head']}({entries[0]},)"
        if len(entries) == 1
        else (f"{match['head']}({', '.join(entries)})")
    )
    if len(one_line) > LINE_LENGTH:
        one_line = match["head"] + "(\n" + "".join(f"    {item},\n" for item in entries) + ")"
    text = text[: match.start()] + one_line + text[match.end() :]
    if not has_import:
        lines = text.split("\n")
        try:
            _insert_import(lines, statement, package)
        except LookupError as error:
            return f"{path}: {error}; add `{statement}` by hand"
        text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")
    return f"{path}: registered {entry}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--package", required=True)
    parser.add_argument("--database", required=True, choices=("postgres", "mongodb"))
    parser.add_argument("--router-module", required=True)
    parser.add_argument("--models-module", required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument("--model", required=True)
    args = parser.parse_args(argv)
    if not Path(".copier-answers.yml").is_file():
        # Copier also renders the domain's releases in empty directories to compare them
        # during an update: there is no service there to register in.
        return 0
    alias = f"{args.domain}_router"
    messages = [
        register(
            Path("src", args.package, "routers.py"),
            statement=f"from {args.router_module} import router as {alias}",
            package=args.package,
            name="ROUTERS",
            entry=alias,
        )
    ]
    model_import = f"from {args.models_module} import {args.model}"
    if args.database == "postgres":
        target, name = Path("migrations", "env.py"), "MODELS"
    else:
        target, name = Path("src", args.package, "core", "database.py"), "DOCUMENT_MODELS"
    messages.append(
        register(target, statement=model_import, package=args.package, name=name, entry=args.model)
    )
    for message in messages:
        print(f"register_domain: {message}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
