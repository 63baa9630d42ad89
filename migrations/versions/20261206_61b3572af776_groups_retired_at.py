"""groups retired_at

A group the catalog no longer offers is marked, never deleted: its memberships and their
history stay. Plain ADD/DROP COLUMN on both databases (SQLite has had DROP COLUMN since
3.35): batch mode would rebuild `groups` on SQLite and lose its facet-slot trigger.
"""

import sqlalchemy as sa
from alembic import op

revision = '61b3572af776'
down_revision = 'd8779ba899b1'


def upgrade() -> None:
    op.add_column('groups', sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('groups', 'retired_at')
