"""The SQLite generator: row triggers. A membership write recomputes both masks of the
users its row touched; a catalog insert without a slot takes the lowest free one; a
users write that changes the searched columns rewrites `search_text`."""

from __future__ import annotations

from aai_cli.models.derived import sql
from aai_cli.models.derived.spec import FACETS, SEARCH_UPDATES, Function, Trigger

INDEXES: tuple[str, ...] = ()  # nothing beside the models


def objects() -> list[Trigger | Function]:
    """Every trigger, in creation order."""
    made: list[Trigger | Function] = []
    for facet in FACETS:
        writes = {
            "insert": ("INSERT", "NEW.user_id"),
            "update": (f"UPDATE OF user_id, status, {facet.target}", "OLD.user_id, NEW.user_id"),
            "delete": ("DELETE", "OLD.user_id"),
        }
        for op, (when, users) in writes.items():
            name = facet.mask_trigger(op)
            body = sql.masks_update(users, postgres=False)
            create = f"CREATE TRIGGER {name} AFTER {when} ON {facet.memberships} BEGIN {body}; END"
            made.append(Trigger(facet.memberships, name, create))
        made.append(
            Trigger(
                facet.catalog,
                facet.slot_trigger,
                f"CREATE TRIGGER {facet.slot_trigger} AFTER INSERT ON {facet.catalog} "
                f"WHEN NEW.facet_slot IS NULL BEGIN UPDATE {facet.catalog} "
                f"SET facet_slot = {sql.free_slot(facet.catalog)} WHERE id = NEW.id; END",
            )
        )
    for op, when in (("insert", "INSERT"), ("update", SEARCH_UPDATES)):
        name = f"trg_users_search_text_{op}"
        made.append(
            Trigger(
                "users",
                name,
                f"CREATE TRIGGER {name} AFTER {when} ON users BEGIN UPDATE users "
                f"SET search_text = {sql.search_text('NEW')} WHERE id = NEW.id; END",
            )
        )
    return made


def drop_trigger(trigger: Trigger) -> str:
    return f"DROP TRIGGER IF EXISTS {trigger.name}"
