"""groups retired_at

A group the catalog no longer offers is marked, never deleted: its memberships and their
history stay. Plain ADD/DROP COLUMN on both databases (SQLite has had DROP COLUMN since
3.35): batch mode would rebuild `groups` on SQLite and lose its facet-slot trigger.

Revision ID: 61b3572af776
Revises: d8779ba899b1
Create Date: 2026-12-06 02:11:17.352097

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '61b3572af776'
down_revision: str | Sequence[str] | None = 'd8779ba899b1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('groups', sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('groups', 'retired_at')
