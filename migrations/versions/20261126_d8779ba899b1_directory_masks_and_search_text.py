"""directory masks and search text

What the admin directory filters on, summarised on the users row and kept by the
triggers of aai_cli/models/derived.py: membership bitmasks (with a slot per platform and
group), the lowered search text, and the index that covers them.

Revision ID: d8779ba899b1
Revises: 409671bd0d2e
Create Date: 2026-11-26 16:58:55.347889

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aai_cli.models import derived


# revision identifiers, used by Alembic.
revision: str = 'd8779ba899b1'
down_revision: str | Sequence[str] | None = '409671bd0d2e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facet_slot', sa.SmallInteger(), nullable=True))
        batch_op.create_index('uq_groups_facet_slot', ['facet_slot'], unique=True)

    with op.batch_alter_table('platforms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facet_slot', sa.SmallInteger(), nullable=True))
        batch_op.create_index('uq_platforms_facet_slot', ['facet_slot'], unique=True)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('platform_mask', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('group_mask', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))
        batch_op.create_index('ix_users_directory', ['deleted_at', 'created_at', 'id', 'email_verified', 'blocked', 'platform_mask', 'group_mask', 'search_text'], unique=False)

    dialect = op.get_context().dialect.name
    for statement in [*derived.statements(dialect), *derived.refresh_statements(dialect)]:
        op.execute(statement)


def downgrade() -> None:
    # Triggers first: SQLite cannot rebuild a table that a trigger names.
    for statement in derived.drop_statements(op.get_context().dialect.name):
        op.execute(statement)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_directory')
        batch_op.drop_column('search_text')
        batch_op.drop_column('group_mask')
        batch_op.drop_column('platform_mask')

    with op.batch_alter_table('platforms', schema=None) as batch_op:
        batch_op.drop_index('uq_platforms_facet_slot')
        batch_op.drop_column('facet_slot')

    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_index('uq_groups_facet_slot')
        batch_op.drop_column('facet_slot')
