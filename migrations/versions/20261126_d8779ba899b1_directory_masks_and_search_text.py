"""directory masks and search text

What the admin directory filters on, summarised on the users row and kept by the
triggers of aai_cli/models/derived/: membership bitmasks (with a slot per platform and
group), the lowered search text, and the indexes that cover them.
"""

import sqlalchemy as sa
from alembic import op

revision = 'd8779ba899b1'
down_revision = '409671bd0d2e'

# The DDL of aai_cli/models/derived/ at this revision, frozen: a revision never
# imports the application (tests/migrations checks the two agree at head).
SQLITE_CREATE = (
    "CREATE TRIGGER trg_platform_memberships_masks_insert AFTER INSERT ON platform_memberships BEGIN UPDATE users SET platform_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM platform_memberships m JOIN platforms c ON c.id = m.platform_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL), group_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM group_memberships m JOIN groups c ON c.id = m.group_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL) WHERE id IN (NEW.user_id); END",
    "CREATE TRIGGER trg_platform_memberships_masks_update AFTER UPDATE OF user_id, status, platform_id ON platform_memberships BEGIN UPDATE users SET platform_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM platform_memberships m JOIN platforms c ON c.id = m.platform_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL), group_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM group_memberships m JOIN groups c ON c.id = m.group_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL) WHERE id IN (OLD.user_id, NEW.user_id); END",
    "CREATE TRIGGER trg_platform_memberships_masks_delete AFTER DELETE ON platform_memberships BEGIN UPDATE users SET platform_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM platform_memberships m JOIN platforms c ON c.id = m.platform_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL), group_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM group_memberships m JOIN groups c ON c.id = m.group_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL) WHERE id IN (OLD.user_id); END",
    'CREATE TRIGGER trg_platforms_facet_slot AFTER INSERT ON platforms WHEN NEW.facet_slot IS NULL BEGIN UPDATE platforms SET facet_slot = (SELECT min(s.n) FROM (SELECT 0 AS n UNION ALL SELECT 1 AS n UNION ALL SELECT 2 AS n UNION ALL SELECT 3 AS n UNION ALL SELECT 4 AS n UNION ALL SELECT 5 AS n UNION ALL SELECT 6 AS n UNION ALL SELECT 7 AS n UNION ALL SELECT 8 AS n UNION ALL SELECT 9 AS n UNION ALL SELECT 10 AS n UNION ALL SELECT 11 AS n UNION ALL SELECT 12 AS n UNION ALL SELECT 13 AS n UNION ALL SELECT 14 AS n) AS s WHERE s.n NOT IN (SELECT facet_slot FROM platforms WHERE facet_slot IS NOT NULL)) WHERE id = NEW.id; END',
    "CREATE TRIGGER trg_group_memberships_masks_insert AFTER INSERT ON group_memberships BEGIN UPDATE users SET platform_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM platform_memberships m JOIN platforms c ON c.id = m.platform_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL), group_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM group_memberships m JOIN groups c ON c.id = m.group_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL) WHERE id IN (NEW.user_id); END",
    "CREATE TRIGGER trg_group_memberships_masks_update AFTER UPDATE OF user_id, status, group_id ON group_memberships BEGIN UPDATE users SET platform_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM platform_memberships m JOIN platforms c ON c.id = m.platform_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL), group_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM group_memberships m JOIN groups c ON c.id = m.group_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL) WHERE id IN (OLD.user_id, NEW.user_id); END",
    "CREATE TRIGGER trg_group_memberships_masks_delete AFTER DELETE ON group_memberships BEGIN UPDATE users SET platform_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM platform_memberships m JOIN platforms c ON c.id = m.platform_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL), group_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM group_memberships m JOIN groups c ON c.id = m.group_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL) WHERE id IN (OLD.user_id); END",
    'CREATE TRIGGER trg_groups_facet_slot AFTER INSERT ON groups WHEN NEW.facet_slot IS NULL BEGIN UPDATE groups SET facet_slot = (SELECT min(s.n) FROM (SELECT 0 AS n UNION ALL SELECT 1 AS n UNION ALL SELECT 2 AS n UNION ALL SELECT 3 AS n UNION ALL SELECT 4 AS n UNION ALL SELECT 5 AS n UNION ALL SELECT 6 AS n UNION ALL SELECT 7 AS n UNION ALL SELECT 8 AS n UNION ALL SELECT 9 AS n UNION ALL SELECT 10 AS n UNION ALL SELECT 11 AS n UNION ALL SELECT 12 AS n UNION ALL SELECT 13 AS n UNION ALL SELECT 14 AS n) AS s WHERE s.n NOT IN (SELECT facet_slot FROM groups WHERE facet_slot IS NOT NULL)) WHERE id = NEW.id; END',
    "CREATE TRIGGER trg_users_search_text_insert AFTER INSERT ON users BEGIN UPDATE users SET search_text = lower(coalesce(NEW.email, '')) || '\n' || lower(coalesce(NEW.username, '')) WHERE id = NEW.id; END",
    "CREATE TRIGGER trg_users_search_text_update AFTER UPDATE OF email, username ON users BEGIN UPDATE users SET search_text = lower(coalesce(NEW.email, '')) || '\n' || lower(coalesce(NEW.username, '')) WHERE id = NEW.id; END",
)
SQLITE_REFRESH = (
    'UPDATE platforms SET facet_slot = (SELECT count(*) FROM platforms AS earlier WHERE earlier.id < platforms.id) WHERE (SELECT count(*) FROM platforms AS earlier WHERE earlier.id < platforms.id) < 15',
    'UPDATE groups SET facet_slot = (SELECT count(*) FROM groups AS earlier WHERE earlier.id < groups.id) WHERE (SELECT count(*) FROM groups AS earlier WHERE earlier.id < groups.id) < 15',
    "UPDATE users SET search_text = lower(coalesce(users.email, '')) || '\n' || lower(coalesce(users.username, '')), platform_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM platform_memberships m JOIN platforms c ON c.id = m.platform_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL), group_mask = (SELECT coalesce(sum(1 << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0) FROM group_memberships m JOIN groups c ON c.id = m.group_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL)",
)
SQLITE_DROP = (
    'DROP TRIGGER IF EXISTS trg_users_search_text_insert',
    'DROP TRIGGER IF EXISTS trg_users_search_text_update',
    'DROP TRIGGER IF EXISTS trg_platform_memberships_masks_insert',
    'DROP TRIGGER IF EXISTS trg_platform_memberships_masks_update',
    'DROP TRIGGER IF EXISTS trg_platform_memberships_masks_delete',
    'DROP TRIGGER IF EXISTS trg_platforms_facet_slot',
    'DROP TRIGGER IF EXISTS trg_group_memberships_masks_insert',
    'DROP TRIGGER IF EXISTS trg_group_memberships_masks_update',
    'DROP TRIGGER IF EXISTS trg_group_memberships_masks_delete',
    'DROP TRIGGER IF EXISTS trg_groups_facet_slot',
)
POSTGRES_CREATE = (
    "CREATE OR REPLACE FUNCTION aai_refresh_masks() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' THEN UPDATE users SET platform_mask = (SELECT coalesce(sum(1::bigint << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0)::bigint FROM platform_memberships m JOIN platforms c ON c.id = m.platform_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL), group_mask = (SELECT coalesce(sum(1::bigint << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0)::bigint FROM group_memberships m JOIN groups c ON c.id = m.group_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL) WHERE id IN (SELECT user_id FROM new_rows); ELSIF TG_OP = 'DELETE' THEN UPDATE users SET platform_mask = (SELECT coalesce(sum(1::bigint << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0)::bigint FROM platform_memberships m JOIN platforms c ON c.id = m.platform_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL), group_mask = (SELECT coalesce(sum(1::bigint << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0)::bigint FROM group_memberships m JOIN groups c ON c.id = m.group_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL) WHERE id IN (SELECT user_id FROM old_rows); ELSIF TG_OP = 'UPDATE' THEN UPDATE users SET platform_mask = (SELECT coalesce(sum(1::bigint << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0)::bigint FROM platform_memberships m JOIN platforms c ON c.id = m.platform_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL), group_mask = (SELECT coalesce(sum(1::bigint << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0)::bigint FROM group_memberships m JOIN groups c ON c.id = m.group_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL) WHERE id IN (SELECT user_id FROM old_rows UNION SELECT user_id FROM new_rows); END IF; RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION aai_search_text() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.search_text := lower(coalesce(NEW.email, '')) || '\n' || lower(coalesce(NEW.username, '')); RETURN NEW; END $$",
    'CREATE TRIGGER trg_users_search_text BEFORE INSERT OR UPDATE OF email, username ON users FOR EACH ROW EXECUTE FUNCTION aai_search_text()',
    'CREATE TRIGGER trg_platform_memberships_masks_insert AFTER INSERT ON platform_memberships REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aai_refresh_masks()',
    'CREATE TRIGGER trg_platform_memberships_masks_update AFTER UPDATE ON platform_memberships REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aai_refresh_masks()',
    'CREATE TRIGGER trg_platform_memberships_masks_delete AFTER DELETE ON platform_memberships REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aai_refresh_masks()',
    'CREATE OR REPLACE FUNCTION aai_platforms_facet_slot() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.facet_slot := coalesce(NEW.facet_slot, (SELECT min(s.n) FROM (SELECT 0 AS n UNION ALL SELECT 1 AS n UNION ALL SELECT 2 AS n UNION ALL SELECT 3 AS n UNION ALL SELECT 4 AS n UNION ALL SELECT 5 AS n UNION ALL SELECT 6 AS n UNION ALL SELECT 7 AS n UNION ALL SELECT 8 AS n UNION ALL SELECT 9 AS n UNION ALL SELECT 10 AS n UNION ALL SELECT 11 AS n UNION ALL SELECT 12 AS n UNION ALL SELECT 13 AS n UNION ALL SELECT 14 AS n) AS s WHERE s.n NOT IN (SELECT facet_slot FROM platforms WHERE facet_slot IS NOT NULL))); RETURN NEW; END $$',
    'CREATE TRIGGER trg_platforms_facet_slot BEFORE INSERT ON platforms FOR EACH ROW EXECUTE FUNCTION aai_platforms_facet_slot()',
    'CREATE TRIGGER trg_group_memberships_masks_insert AFTER INSERT ON group_memberships REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aai_refresh_masks()',
    'CREATE TRIGGER trg_group_memberships_masks_update AFTER UPDATE ON group_memberships REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aai_refresh_masks()',
    'CREATE TRIGGER trg_group_memberships_masks_delete AFTER DELETE ON group_memberships REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aai_refresh_masks()',
    'CREATE OR REPLACE FUNCTION aai_groups_facet_slot() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.facet_slot := coalesce(NEW.facet_slot, (SELECT min(s.n) FROM (SELECT 0 AS n UNION ALL SELECT 1 AS n UNION ALL SELECT 2 AS n UNION ALL SELECT 3 AS n UNION ALL SELECT 4 AS n UNION ALL SELECT 5 AS n UNION ALL SELECT 6 AS n UNION ALL SELECT 7 AS n UNION ALL SELECT 8 AS n UNION ALL SELECT 9 AS n UNION ALL SELECT 10 AS n UNION ALL SELECT 11 AS n UNION ALL SELECT 12 AS n UNION ALL SELECT 13 AS n UNION ALL SELECT 14 AS n) AS s WHERE s.n NOT IN (SELECT facet_slot FROM groups WHERE facet_slot IS NOT NULL))); RETURN NEW; END $$',
    'CREATE TRIGGER trg_groups_facet_slot BEFORE INSERT ON groups FOR EACH ROW EXECUTE FUNCTION aai_groups_facet_slot()',
    "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm; EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN RAISE NOTICE 'pg_trgm is not available: user search will scan'; END $$",
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN CREATE INDEX IF NOT EXISTS ix_users_search_trgm ON users USING gin (search_text gin_trgm_ops) WHERE deleted_at IS NULL; END IF; END $$",
)
POSTGRES_REFRESH = (
    'UPDATE platforms SET facet_slot = (SELECT count(*) FROM platforms AS earlier WHERE earlier.id < platforms.id) WHERE (SELECT count(*) FROM platforms AS earlier WHERE earlier.id < platforms.id) < 15',
    'UPDATE groups SET facet_slot = (SELECT count(*) FROM groups AS earlier WHERE earlier.id < groups.id) WHERE (SELECT count(*) FROM groups AS earlier WHERE earlier.id < groups.id) < 15',
    "UPDATE users SET search_text = lower(coalesce(users.email, '')) || '\n' || lower(coalesce(users.username, '')), platform_mask = (SELECT coalesce(sum(1::bigint << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0)::bigint FROM platform_memberships m JOIN platforms c ON c.id = m.platform_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL), group_mask = (SELECT coalesce(sum(1::bigint << (c.facet_slot * 4 + CASE m.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 WHEN 'rejected' THEN 2 WHEN 'revoked' THEN 3 END)), 0)::bigint FROM group_memberships m JOIN groups c ON c.id = m.group_id WHERE m.user_id = users.id AND c.facet_slot IS NOT NULL)",
)
POSTGRES_DROP = (
    'DROP TRIGGER IF EXISTS trg_users_search_text ON users',
    'DROP TRIGGER IF EXISTS trg_platform_memberships_masks_insert ON platform_memberships',
    'DROP TRIGGER IF EXISTS trg_platform_memberships_masks_update ON platform_memberships',
    'DROP TRIGGER IF EXISTS trg_platform_memberships_masks_delete ON platform_memberships',
    'DROP TRIGGER IF EXISTS trg_platforms_facet_slot ON platforms',
    'DROP TRIGGER IF EXISTS trg_group_memberships_masks_insert ON group_memberships',
    'DROP TRIGGER IF EXISTS trg_group_memberships_masks_update ON group_memberships',
    'DROP TRIGGER IF EXISTS trg_group_memberships_masks_delete ON group_memberships',
    'DROP TRIGGER IF EXISTS trg_groups_facet_slot ON groups',
    'DROP FUNCTION IF EXISTS aai_refresh_masks()',
    'DROP FUNCTION IF EXISTS aai_search_text()',
    'DROP FUNCTION IF EXISTS aai_platforms_facet_slot()',
    'DROP FUNCTION IF EXISTS aai_groups_facet_slot()',
    'DROP INDEX IF EXISTS ix_users_search_trgm',
)

def _ddl(kind: str) -> tuple[str, ...]:
    postgres = op.get_context().dialect.name == 'postgresql'
    return globals()[f"{'POSTGRES' if postgres else 'SQLITE'}_{kind}"]


def upgrade() -> None:
    for catalog in ('groups', 'platforms'):
        with op.batch_alter_table(catalog, schema=None) as batch_op:
            batch_op.add_column(sa.Column('facet_slot', sa.SmallInteger(), nullable=True))
            batch_op.create_index(f'uq_{catalog}_facet_slot', ['facet_slot'], unique=True)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('platform_mask', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('group_mask', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))
        batch_op.create_index('ix_users_directory', ['deleted_at', 'created_at', 'id', 'email_verified', 'blocked', 'platform_mask', 'group_mask', 'search_text'], unique=False)
        batch_op.create_index('ix_users_facets', ['deleted_at', 'platform_mask', 'group_mask', 'email_verified', 'blocked'], unique=False)

    for statement in (*_ddl('REFRESH'), *_ddl('CREATE')):  # indexes built on the data
        op.execute(statement)


def downgrade() -> None:
    # Triggers first: SQLite cannot rebuild a table that a trigger names.
    for statement in _ddl('DROP'):
        op.execute(statement)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_facets')
        batch_op.drop_index('ix_users_directory')
        batch_op.drop_column('search_text')
        batch_op.drop_column('group_mask')
        batch_op.drop_column('platform_mask')

    for catalog in ('platforms', 'groups'):
        with op.batch_alter_table(catalog, schema=None) as batch_op:
            batch_op.drop_index(f'uq_{catalog}_facet_slot')
            batch_op.drop_column('facet_slot')
