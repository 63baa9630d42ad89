"""The SQL both generators share: a user's masks computed from the membership rows, the
lowest free slot, the search text, and the refresh of existing rows. Only the integer
type differs (Postgres needs `bigint` so that a shift past bit 31 does not overflow)."""

from __future__ import annotations

from aai_cli.models.derived.spec import FACETS, SEARCH_SOURCES, SLOTS, STATUS_BIT, Facet


def mask(facet: Facet, user: str, postgres: bool) -> str:
    """The mask of the user whose id is the SQL expression `user`."""
    bit = " ".join(f"WHEN '{s}' THEN {b}" for s, b in STATUS_BIT.items())
    one = "1::bigint" if postgres else "1"
    total = f"sum({one} << (c.facet_slot * 4 + CASE m.status {bit} END))"
    return (
        f"(SELECT coalesce({total}, 0){'::bigint' if postgres else ''} "
        f"FROM {facet.memberships} m JOIN {facet.catalog} c ON c.id = m.{facet.target} "
        f"WHERE m.user_id = {user} AND c.facet_slot IS NOT NULL)"
    )


def masks_set(postgres: bool) -> str:
    """`platform_mask = (...), group_mask = (...)` for the row `users`."""
    return ", ".join(f"{f.mask} = {mask(f, 'users.id', postgres)}" for f in FACETS)


def masks_update(users: str, postgres: bool) -> str:
    """Recompute the masks of the users whose ids `users` lists (SQL)."""
    return f"UPDATE users SET {masks_set(postgres)} WHERE id IN ({users})"


def free_slot(catalog: str) -> str:
    """The lowest slot no row of `catalog` holds (NULL when all are taken)."""
    numbers = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(SLOTS))
    return (
        f"(SELECT min(s.n) FROM ({numbers}) AS s "
        f"WHERE s.n NOT IN (SELECT facet_slot FROM {catalog} WHERE facet_slot IS NOT NULL))"
    )


def search_text(row: str) -> str:
    """`users.search_text` of the row `row` (NEW in a trigger)."""
    return " || '\n' || ".join(f"lower(coalesce({row}.{c}, ''))" for c in SEARCH_SOURCES)


def refresh(postgres: bool) -> list[str]:
    """Give existing catalog rows slots (in id order) and recompute every user."""
    statements = []
    for catalog in (f.catalog for f in FACETS):
        rank = f"(SELECT count(*) FROM {catalog} AS earlier WHERE earlier.id < {catalog}.id)"
        statements.append(f"UPDATE {catalog} SET facet_slot = {rank} WHERE {rank} < {SLOTS}")
    statements.append(
        f"UPDATE users SET search_text = {search_text('users')}, {masks_set(postgres)}"
    )
    return statements
