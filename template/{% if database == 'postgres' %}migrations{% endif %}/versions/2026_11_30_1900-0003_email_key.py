"""E-mail identity key: sign-up and sign-in find an account by one normalised key.

`email` keeps the address mail goes to; `email_key` is what `schemas.email_identity` makes
of it (NFKC and case folding) and is unique instead. Accounts that already share a key
(look-alikes: `victim@` in full-width letters and in ASCII) stop the upgrade, which names
their ids: decide which to keep, then upgrade again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 19:00:00+00:00
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

user_account = sa.table(
    "user_account",
    sa.column("id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("email_key", sa.String()),
)


def email_key(email: str) -> str:
    """What `email_identity` gives for a stored address (already validated and normalised),
    frozen here as it was when this migration was written."""
    folded = unicodedata.normalize("NFKC", email.strip()).casefold()
    return unicodedata.normalize("NFKC", folded)


def upgrade() -> None:
    op.add_column("user_account", sa.Column("email_key", sa.String(length=320), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(user_account.c.id, user_account.c.email)).all()
    keys = {user_id: email_key(email) for user_id, email in rows}
    owners: dict[str, list[str]] = {}
    for user_id, key in keys.items():
        owners.setdefault(key, []).append(str(user_id))
    shared = [ids for key, ids in owners.items() if len(ids) > 1 or len(key) > 320]
    if shared:
        raise RuntimeError(
            "accounts whose e-mail addresses are one once normalised (NFKC, case folded), or "
            f"too long then: {sorted(shared)}; keep one of each, then upgrade again"
        )
    if keys:
        connection.execute(
            user_account.update()
            .where(user_account.c.id == sa.bindparam("user_id"))
            .values(email_key=sa.bindparam("key")),
            [{"user_id": user_id, "key": key} for user_id, key in keys.items()],
        )
    op.alter_column("user_account", "email_key", nullable=False)
    op.drop_constraint(op.f("uq_user_account_email"), "user_account", type_="unique")
    op.create_unique_constraint(op.f("uq_user_account_email_key"), "user_account", ["email_key"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_user_account_email_key"), "user_account", type_="unique")
    op.drop_column("user_account", "email_key")
    op.create_unique_constraint(op.f("uq_user_account_email"), "user_account", ["email"])
