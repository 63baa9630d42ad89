"""Claiming outbox rows with a lease, for the jobs that deliver them (Auth0, email).

A claim is one compare-and-set UPDATE (only the rows still due change, so of two workers
only one wins each row), committed at once: the lease is then visible to every other
worker, and no transaction stays open while the claimed work talks to Auth0 or SMTP. A
worker that dies leaves its rows to be claimed again once their lease has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import update
from sqlmodel import Session, select

Row = TypeVar("Row")


def claim(
    session: Session,
    model: type[Row],
    ids: Sequence[int | None],  # of stored rows, so never None: models type their ids optional
    *,
    due: Any,
    values: dict[str, Any],
) -> list[Row]:
    """Set `values` on those of `ids` that are still `due`, commit, and return the rows won
    in id order. They are detached from the session, so reading them opens no transaction;
    `session.add` one to record its outcome."""
    table_id = model.id  # type: ignore[attr-defined]  # Row is any outbox model: all have `id`
    won: list[Any] = []
    if ids:
        won = list(
            session.execute(
                update(model)
                .where(table_id.in_(list(ids)), due)
                .values(**values)
                .returning(table_id)
                .execution_options(synchronize_session=False)
            ).scalars()
        )
    rows = list(
        session.exec(
            select(model)
            .where(table_id.in_(won))
            .order_by(table_id)
            .execution_options(populate_existing=True)
        )
        if won
        else []
    )
    for row in rows:
        session.expunge(row)
    session.commit()
    return rows
