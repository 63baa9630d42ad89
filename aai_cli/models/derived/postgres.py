"""The PostgreSQL generator: statement triggers over the transition tables refresh the
masks (a bulk insert refreshes each user once per statement, through
`aai_refresh_masks()`); row triggers give a catalog insert its slot and keep
`search_text`; and, where `pg_trgm` can be had, a trigram index for `search`."""

from __future__ import annotations

from aai_cli.models.derived import sql
from aai_cli.models.derived.spec import (
    FACETS,
    OPS,
    SEARCH_INDEX,
    SEARCH_UPDATES,
    Function,
    Trigger,
)

# The users each statement touched, per operation, from its transition tables.
_TOUCHED = {
    "INSERT": "SELECT user_id FROM new_rows",
    "DELETE": "SELECT user_id FROM old_rows",
    "UPDATE": "SELECT user_id FROM old_rows UNION SELECT user_id FROM new_rows",
}
_TRANSITIONS = {
    "insert": "NEW TABLE AS new_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
}
INDEXES = (
    "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm; "
    "EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN "
    "RAISE NOTICE 'pg_trgm is not available: user search will scan'; END $$",
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN "
    f"CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON users "
    "USING gin (search_text gin_trgm_ops) WHERE deleted_at IS NULL; END IF; END $$",
)


def _function(name: str, body: str) -> Function:
    return Function(
        name,
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
        f"AS $$ BEGIN {body} END $$",
    )


def objects() -> list[Trigger | Function]:
    """Every function and trigger, in creation order (a function before its callers)."""
    branches = " ".join(
        f"{'IF' if i == 0 else 'ELSIF'} TG_OP = '{op}' THEN {sql.masks_update(users, True)};"
        for i, (op, users) in enumerate(_TOUCHED.items())
    )
    made: list[Trigger | Function] = [
        _function("aai_refresh_masks", f"{branches} END IF; RETURN NULL;"),
        _function("aai_search_text", f"NEW.search_text := {sql.search_text('NEW')}; RETURN NEW;"),
        Trigger(
            "users",
            "trg_users_search_text",
            f"CREATE TRIGGER trg_users_search_text BEFORE INSERT OR {SEARCH_UPDATES} "
            "ON users FOR EACH ROW EXECUTE FUNCTION aai_search_text()",
        ),
    ]
    for facet in FACETS:
        for op in OPS:
            name = facet.mask_trigger(op)
            made.append(
                Trigger(
                    facet.memberships,
                    name,
                    f"CREATE TRIGGER {name} AFTER {op.upper()} ON {facet.memberships} "
                    f"REFERENCING {_TRANSITIONS[op]} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION aai_refresh_masks()",
                )
            )
        function = f"aai_{facet.catalog}_facet_slot"
        free = sql.free_slot(facet.catalog)
        made += [
            _function(function, f"NEW.facet_slot := coalesce(NEW.facet_slot, {free}); RETURN NEW;"),
            Trigger(
                facet.catalog,
                facet.slot_trigger,
                f"CREATE TRIGGER {facet.slot_trigger} BEFORE INSERT ON {facet.catalog} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}()",
            ),
        ]
    return made


def drop_trigger(trigger: Trigger) -> str:
    return f"DROP TRIGGER IF EXISTS {trigger.name} ON {trigger.table}"
