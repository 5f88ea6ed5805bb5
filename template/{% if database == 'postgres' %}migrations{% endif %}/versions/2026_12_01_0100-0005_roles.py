"""Roles: every account is a `user` or an `admin`; accounts stored before are users.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 01:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server default makes every existing account a user, as new ones are.
    op.add_column(
        "user_account",
        sa.Column("role", sa.String(length=20), server_default="user", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("user_account", "role")
