"""E-mail verification: whether an account's address is verified. Accounts stored before
are verified; new ones are not until their owner opens the link of the welcome e-mail.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 05:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing accounts get true as the column is added; new rows default to false.
    op.add_column(
        "user_account",
        sa.Column("is_verified", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.alter_column("user_account", "is_verified", server_default=sa.false())


def downgrade() -> None:
    op.drop_column("user_account", "is_verified")
