"""Join the heads of a PostgreSQL service's Alembic migrations with one merge revision.

Run by copier.yml's `_tasks` after a copy or an update that leaves the migrations with more
than one head: a service release adds its migration on top of the head that a domain's (or
the user's own) migration was added on, and `alembic upgrade head`, `alembic check` and
`alembic revision` all refuse two heads. Standard library only, offline, idempotent: the
revision is named after the heads it joins, so the same heads always give the same file, and
once it is written there is one head again. It says what it wrote, and never fails the
render (what it could not write is reported with the command that does it by hand).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import sys
import textwrap
from pathlib import Path

LINE_LENGTH = 100


def merge_revision(heads: list[str]) -> str:
    """The merge revision's id: the same heads (in any order) always give the same id."""
    digest = hashlib.sha256(",".join(sorted(heads)).encode()).hexdigest()[:12]
    return f"merge_{digest}"


def merge_source(revision: str, heads: list[str]) -> str:
    """The revision file, as `alembic merge` and the project's formatter would leave it."""
    revises = textwrap.fill("Revises: " + ", ".join(heads), LINE_LENGTH)
    parents = "".join(f'    "{head}",\n' for head in heads)
    return (
        '"""Join the migration heads that an update left apart (written by `copier update`).\n'
        "\n"
        f"Revision ID: {revision}\n"
        f"{revises}\n"
        '"""\n'
        "\n"
        "from collections.abc import Sequence\n"
        "\n"
        f'revision: str = "{revision}"\n'
        f"down_revision: str | Sequence[str] | None = (\n{parents})\n"
        "branch_labels: str | Sequence[str] | None = None\n"
        "depends_on: str | Sequence[str] | None = None\n"
        "\n"
        "\n"
        "def upgrade() -> None:\n"
        '    """Nothing to change: the joined migrations did the work."""\n'
        "\n"
        "\n"
        "def downgrade() -> None:\n"
        '    """Nothing to undo."""\n'
    )


def join_heads(versions: Path, heads: list[str], *, now: datetime.datetime) -> Path | None:
    """Write the merge revision of `heads` into `versions`: the new file, or None when there
    is one head or the merge is there already."""
    heads = sorted(set(heads))
    if len(heads) < 2:
        return None
    revision = merge_revision(heads)
    if any(versions.glob(f"*-{revision}_*.py")):
        return None
    # The project's alembic.ini names files `<date>-<revision>_<slug>.py`.
    path = versions / f"{now.strftime('%Y_%m_%d_%H%M')}-{revision}_join_heads.py"
    path.write_text(merge_source(revision, heads), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", required=True, help="the current heads, comma-separated")
    parser.add_argument("--versions", type=Path, default=Path("migrations/versions"))
    args = parser.parse_args(argv)
    heads = [head for head in args.heads.split(",") if head]
    try:
        path = join_heads(args.versions, heads, now=datetime.datetime.now(datetime.UTC))
    except OSError as error:
        print(
            f"Could not join the migration heads {', '.join(heads)} ({error}); run"
            ' `alembic merge heads -m "join heads"` before `alembic upgrade head`.',
            file=sys.stderr,
        )
        return 0
    if path is not None:
        print(
            f"{path}: joins the migration heads {', '.join(sorted(set(heads)))} into one;"
            " commit it with the update.",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
