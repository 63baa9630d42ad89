"""Columns the database derives for the admin directory, kept by triggers.

The directory filters users by their memberships ("approved on sbp", "any membership in
my platforms") combined with user columns, and counts the matches. Probing the
membership tables for each candidate costs a B-tree search per user: 100,000 users took
30-90 ms. So the memberships are also summarised on the user's own row, and every
filter is a test on the users table alone (about 5 ms per 100,000 users):

- `users.platform_mask` / `users.group_mask`: bit `4 * slot + status` is set when the
  user has a membership with that status in the platform (group) holding `slot`.
  `platforms.facet_slot` and `groups.facet_slot` are given out on insert, the lowest
  free one of `SLOTS`; a target inserted when all are taken has none, and filters on it
  fall back to probing its membership table (correct, only slower). A slot is never
  changed once given: the masks hold it.
- `users.search_text`: lowered email and username, what `search` matches, lowered by
  the database's own lower() like the search term.

Triggers keep them whatever path writes the rows (a decision, the sync's bulk insert, a
test fixture). SQLite gets row triggers; Postgres refreshes masks with statement triggers
over the transition tables, so a bulk insert refreshes each user once per statement.

`statements(dialect)` creates everything (also run by `metadata.create_all`, which tests
use); `refresh_statements(dialect)` recomputes existing rows. Changing them changes the
schema: ship a migration that runs `drop_statements`, then both again.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.schema import MetaData

from aai_cli.models.base import MEMBERSHIP_STATUSES

SLOTS = 15  # 4 bits each in a signed 64-bit integer
STATUS_BIT = {status: bit for bit, status in enumerate(MEMBERSHIP_STATUSES)}
# kind -> (membership table, its target column, the catalog table, the users column)
KINDS = {
    "platform": ("platform_memberships", "platform_id", "platforms", "platform_mask"),
    "group": ("group_memberships", "group_id", "groups", "group_mask"),
}
_OPS = ("insert", "update", "delete")
SEARCH_TEXT = "lower(coalesce({row}.email, '')) || '\n' || lower(coalesce({row}.username, ''))"


def status_nibble(status: str | None) -> int:
    """The bits of one slot that mean `status` (None: any status)."""
    return 0b1111 if status is None else 1 << STATUS_BIT[status]


def every_slot(status: str | None) -> int:
    """The bits that mean `status` (None: any status) in any slot."""
    return sum(status_nibble(status) << (4 * slot) for slot in range(SLOTS))


def _mask_sql(kind: str, user: str, postgres: bool) -> str:
    """The mask of the user whose id is the SQL expression `user`."""
    memberships, target, catalog, _ = KINDS[kind]
    bit = " ".join(f"WHEN '{s}' THEN {b}" for s, b in STATUS_BIT.items())
    one = "1::bigint" if postgres else "1"
    total = f"sum({one} << (c.facet_slot * 4 + CASE m.status {bit} END))"
    return (
        f"(SELECT coalesce({total}, 0){'::bigint' if postgres else ''} "
        f"FROM {memberships} m JOIN {catalog} c ON c.id = m.{target} "
        f"WHERE m.user_id = {user} AND c.facet_slot IS NOT NULL)"
    )


def _masks_update(users: str, postgres: bool) -> str:
    return (
        "UPDATE users SET "
        f"platform_mask = {_mask_sql('platform', 'users.id', postgres)}, "
        f"group_mask = {_mask_sql('group', 'users.id', postgres)} "
        f"WHERE id IN ({users})"
    )


def _free_slot_sql(catalog: str) -> str:
    return (
        f"(SELECT min(s.n) FROM ({_slot_numbers()}) AS s "
        f"WHERE s.n NOT IN (SELECT facet_slot FROM {catalog} WHERE facet_slot IS NOT NULL))"
    )


def _slot_numbers() -> str:
    return " UNION ALL ".join(f"SELECT {n} AS n" for n in range(SLOTS))


def _sqlite_statements() -> list[str]:
    statements = []
    for memberships, target, catalog, _ in KINDS.values():
        for op, (when, users) in zip(
            _OPS,
            (
                ("INSERT", "NEW.user_id"),
                (f"UPDATE OF user_id, status, {target}", "OLD.user_id, NEW.user_id"),
                ("DELETE", "OLD.user_id"),
            ),
            strict=True,
        ):
            statements.append(
                f"CREATE TRIGGER trg_{memberships}_masks_{op} AFTER {when} ON {memberships} "
                f"BEGIN {_masks_update(users, postgres=False)}; END"
            )
        statements.append(
            f"CREATE TRIGGER trg_{catalog}_facet_slot AFTER INSERT ON {catalog} "
            f"WHEN NEW.facet_slot IS NULL BEGIN UPDATE {catalog} "
            f"SET facet_slot = {_free_slot_sql(catalog)} WHERE id = NEW.id; END"
        )
    search_text = SEARCH_TEXT.format(row="NEW")
    for op, when in (("insert", "INSERT"), ("update", "UPDATE OF email, username")):
        statements.append(
            f"CREATE TRIGGER trg_users_search_text_{op} AFTER {when} ON users "
            f"BEGIN UPDATE users SET search_text = {search_text} WHERE id = NEW.id; END"
        )
    return statements


def _postgres_statements() -> list[str]:
    rows = {
        "INSERT": "SELECT user_id FROM new_rows",
        "DELETE": "SELECT user_id FROM old_rows",
        "UPDATE": "SELECT user_id FROM old_rows UNION SELECT user_id FROM new_rows",
    }
    branches = " ".join(
        f"{'IF' if i == 0 else 'ELSIF'} TG_OP = '{op}' THEN {_masks_update(users, True)};"
        for i, (op, users) in enumerate(rows.items())
    )
    statements = [
        "CREATE OR REPLACE FUNCTION aai_refresh_masks() RETURNS trigger LANGUAGE plpgsql "
        f"AS $$ BEGIN {branches} END IF; RETURN NULL; END $$",
        "CREATE OR REPLACE FUNCTION aai_search_text() RETURNS trigger LANGUAGE plpgsql "
        f"AS $$ BEGIN NEW.search_text := {SEARCH_TEXT.format(row='NEW')}; RETURN NEW; END $$",
        "CREATE TRIGGER trg_users_search_text BEFORE INSERT OR UPDATE OF email, username "
        "ON users FOR EACH ROW EXECUTE FUNCTION aai_search_text()",
    ]
    transitions = (
        "NEW TABLE AS new_rows",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "OLD TABLE AS old_rows",
    )
    for memberships, _, catalog, _ in KINDS.values():
        for op, transition in zip(_OPS, transitions, strict=True):
            statements.append(
                f"CREATE TRIGGER trg_{memberships}_masks_{op} AFTER {op.upper()} "
                f"ON {memberships} REFERENCING {transition} "
                "FOR EACH STATEMENT EXECUTE FUNCTION aai_refresh_masks()"
            )
        statements += [
            f"CREATE OR REPLACE FUNCTION aai_{catalog}_facet_slot() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"NEW.facet_slot := coalesce(NEW.facet_slot, {_free_slot_sql(catalog)}); "
            "RETURN NEW; END $$",
            f"CREATE TRIGGER trg_{catalog}_facet_slot BEFORE INSERT ON {catalog} "
            f"FOR EACH ROW EXECUTE FUNCTION aai_{catalog}_facet_slot()",
        ]
    return statements


# Postgres only, and only where the pg_trgm extension can be had (a trusted extension
# since Postgres 13; RDS has it): a trigram index that answers `search` without reading
# every user (12 ms -> 1 ms for 100,000). Without it a search scans, as on SQLite. It is
# not in the models, so `aai db check` ignores it (services/schema.py).
SEARCH_INDEX = "ix_users_search_trgm"
_POSTGRES_SEARCH_INDEX = (
    "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm; "
    "EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN "
    "RAISE NOTICE 'pg_trgm is not available: user search will scan'; END $$",
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN "
    f"CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON users "
    "USING gin (search_text gin_trgm_ops) WHERE deleted_at IS NULL; END IF; END $$",
)
UNMODELLED_INDEXES = frozenset({SEARCH_INDEX})


def statements(dialect: str) -> list[str]:
    """Create the triggers (and on Postgres their functions and the search index)."""
    if dialect == "postgresql":
        return [*_postgres_statements(), *_POSTGRES_SEARCH_INDEX]
    return _sqlite_statements()


def _triggers(postgres: bool) -> list[tuple[str, str]]:
    """(table, trigger name) of every trigger `statements` creates."""
    search = (
        ["trg_users_search_text"]
        if postgres
        else ["trg_users_search_text_insert", "trg_users_search_text_update"]
    )
    triggers = [("users", name) for name in search]
    for memberships, _, catalog, _ in KINDS.values():
        triggers += [(memberships, f"trg_{memberships}_masks_{op}") for op in _OPS]
        triggers.append((catalog, f"trg_{catalog}_facet_slot"))
    return triggers


def trigger_names(dialect: str) -> set[str]:
    """The triggers `statements` creates (what `aai db check` expects to find)."""
    return {name for _, name in _triggers(dialect == "postgresql")}


def drop_statements(dialect: str) -> list[str]:
    postgres = dialect == "postgresql"
    drops = [
        f"DROP TRIGGER IF EXISTS {name}{f' ON {table}' if postgres else ''}"
        for table, name in _triggers(postgres)
    ]
    if postgres:
        functions = ["aai_refresh_masks", "aai_search_text"]
        functions += [f"aai_{catalog}_facet_slot" for _, _, catalog, _ in KINDS.values()]
        drops += [f"DROP FUNCTION IF EXISTS {name}()" for name in functions]
        drops.append(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")
    return drops


def refresh_statements(dialect: str) -> list[str]:
    """Give existing catalog rows slots (in id order) and recompute every user."""
    postgres = dialect == "postgresql"
    refresh = []
    for _, _, catalog, _ in KINDS.values():
        rank = f"(SELECT count(*) FROM {catalog} AS earlier WHERE earlier.id < {catalog}.id)"
        refresh.append(f"UPDATE {catalog} SET facet_slot = {rank} WHERE {rank} < {SLOTS}")
    refresh.append(
        f"UPDATE users SET search_text = {SEARCH_TEXT.format(row='users')}, "
        f"platform_mask = {_mask_sql('platform', 'users.id', postgres)}, "
        f"group_mask = {_mask_sql('group', 'users.id', postgres)}"
    )
    return refresh


def register(metadata: MetaData) -> None:
    """`metadata.create_all` installs the triggers too."""

    def after_create(target: MetaData, connection: Connection, **kw: object) -> None:
        dialect = connection.dialect.name
        for statement in [*drop_statements(dialect), *statements(dialect)]:
            connection.exec_driver_sql(statement)

    event.listen(metadata, "after_create", after_create)
