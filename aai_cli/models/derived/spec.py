"""What the database derives, described once. The generators (`sqlite.py`,
`postgres.py`) and the query helpers (`masks.py`) read it; nothing else names these
tables, columns or triggers."""

from __future__ import annotations

from dataclasses import dataclass

from aai_cli.models.base import MEMBERSHIP_STATUSES

SLOTS = 15  # 4 bits each in a signed 64-bit integer
STATUS_BIT = {status: bit for bit, status in enumerate(MEMBERSHIP_STATUSES)}
OPS = ("insert", "update", "delete")  # the membership writes the masks follow


@dataclass(frozen=True)
class Facet:
    """One kind of membership summarised as a mask on `users`."""

    kind: str  # "platform" | "group"
    memberships: str  # the membership table
    target: str  # its column naming the platform (group)
    catalog: str  # the platforms (groups) table, which holds `facet_slot`
    mask: str  # the users column

    def mask_trigger(self, op: str) -> str:
        return f"trg_{self.memberships}_masks_{op}"

    @property
    def slot_trigger(self) -> str:
        return f"trg_{self.catalog}_facet_slot"


FACETS = (
    Facet("platform", "platform_memberships", "platform_id", "platforms", "platform_mask"),
    Facet("group", "group_memberships", "group_id", "groups", "group_mask"),
)
# `users.search_text`: these columns lowered, joined by a newline (a term cannot span two).
SEARCH_SOURCES = ("email", "username")
SEARCH_UPDATES = "UPDATE OF email, username"  # the writes that change it

# Postgres only, where the pg_trgm extension can be had (trusted since Postgres 13; RDS
# has it): a trigram index that answers `search` without reading every user (12 ms ->
# 1 ms for 100,000). Not in the models, so `aai db check` leaves it out.
SEARCH_INDEX = "ix_users_search_trgm"
UNMODELLED_INDEXES = frozenset({SEARCH_INDEX})


@dataclass(frozen=True)
class Trigger:
    table: str
    name: str
    create: str


@dataclass(frozen=True)
class Function:
    """A Postgres trigger function (created before the triggers that call it)."""

    name: str
    create: str
