"""The caller's row without holding the database: GET /me/profile reads with the read-only
session, and a first sight asks Auth0 with no transaction open, then writes the row in a
short transaction where a row written meanwhile (sync, concurrent first sight) wins."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from aai_cli import db
from aai_cli.models import PlatformMembership, User
from tests.api.conftest import add_user
from tests.transactions import hold_sqlite_write_lock, transactions_left_open

NEWCOMER = "auth0|newcomer"
GET_USER = r"/api/v2/users/[^/]+"


def users(db_url: str, user_id: str) -> list[User]:
    with Session(db.get_engine(db_url)) as session:
        return list(session.exec(select(User).where(User.id == user_id)))


def add_newcomer(fake) -> None:  # type: ignore[no-untyped-def]
    fake.add_user(user_id=NEWCOMER, email="new@example.org", username="newcomer", name="New Comer")


@contextlib.contextmanager
def first_sights_held(api, n: int, call: Callable[[], Any]) -> Iterator[list[Any]]:  # type: ignore[no-untyped-def]
    """`call` on `n` threads by the newcomer, the block running while all `n` wait for
    Auth0's answer about them; yields their answers, complete once the block ends."""
    add_newcomer(api.fake)
    held = api.fake.hold("GET", GET_USER)
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda: answers.append(call())) for _ in range(n)]
    for thread in threads:
        thread.start()
    try:
        assert held.wait_arrivals(n)
        yield answers
    finally:
        held.release()
        for thread in threads:
            thread.join(60)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_profile_of_a_known_caller_reads_beside_a_writer(api) -> None:
    add_user(api.db_url, "auth0|alice")
    writer = hold_sqlite_write_lock(api.db_url)  # another process in BEGIN IMMEDIATE
    try:
        response = api.get("/me/profile")
    finally:
        writer.close()
    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == "auth0|alice"


FIRST_SIGHTS = {
    "profile": lambda api: api.get("/me/profile", sub=NEWCOMER),
    "request": lambda api: api.post("/me/platforms/sbp/request", sub=NEWCOMER),
}


@pytest.mark.parametrize("route", sorted(FIRST_SIGHTS))
def test_first_sight_holds_no_transaction_while_auth0_answers(api, route: str) -> None:
    with first_sights_held(api, 1, lambda: FIRST_SIGHTS[route](api)) as answers:
        left_open = transactions_left_open(api.db_url)
    assert left_open == []
    assert [a.status_code for a in answers] == [200], answers[0].text
    [row] = users(api.db_url, NEWCOMER)
    assert (row.email, row.username) == ("new@example.org", "newcomer")


def test_concurrent_first_sights_make_one_row(api) -> None:
    with first_sights_held(api, 2, lambda: api.get("/me/profile", sub=NEWCOMER)) as answers:
        pass  # both wait for Auth0 at once
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert [a.json()["email"] for a in answers] == ["new@example.org"] * 2
    assert len(users(api.db_url, NEWCOMER)) == 1


def test_a_row_the_sync_writes_meanwhile_wins(api) -> None:
    with first_sights_held(
        api, 1, lambda: api.post("/me/platforms/sbp/request", sub=NEWCOMER)
    ) as answers:
        # the sync brings the row while the first sight waits on Auth0
        add_user(api.db_url, NEWCOMER, email="synced@example.org", username="newcomer")
    assert [a.status_code for a in answers] == [200], answers[0].text
    assert answers[0].json()["status"] == "pending"
    [row] = users(api.db_url, NEWCOMER)
    assert row.email == "synced@example.org"
    with Session(db.get_engine(api.db_url)) as session:
        [membership] = session.exec(
            select(PlatformMembership).where(PlatformMembership.user_id == NEWCOMER)
        )
    assert (membership.platform_id, membership.status) == ("sbp", "pending")
