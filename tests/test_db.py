"""The database layer: sessions own their transaction, locks exclude other holders."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from aai_cli import db
from aai_cli.errors import Busy
from aai_cli.models import User


def test_session_scope_commits_on_success(db_url):
    with db.session_scope() as session:
        session.add(User(id="auth0|kept", email="kept@example.org"))
    with db.session_scope() as session:
        assert session.get(User, "auth0|kept") is not None


def test_session_scope_rolls_back_on_error(db_url):
    with pytest.raises(RuntimeError), db.session_scope() as session:
        session.add(User(id="auth0|lost", email="lost@example.org"))
        session.flush()
        raise RuntimeError("boom")
    with db.session_scope() as session:
        assert session.get(User, "auth0|lost") is None


def test_timestamps_round_trip_as_utc(db_url):
    when = datetime(2026, 3, 1, 10, 0, 0, 123000, tzinfo=UTC)
    with db.session_scope() as session:
        session.add(User(id="auth0|tz", created_at=when))
    with db.session_scope() as session:
        stored = session.exec(select(User).where(User.id == "auth0|tz")).one()
        assert stored.created_at == when
        assert stored.created_at.tzinfo is not None


def test_naive_timestamps_are_refused(db_url):
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError, match="naive datetime"), db.session_scope() as session:
        session.add(User(id="auth0|naive", created_at=datetime(2026, 1, 1)))
        session.flush()


def test_lock_excludes_a_second_holder(db_url):
    with db.advisory_lock("unit", wait=False):
        assert db.is_lock_held("unit")
        with pytest.raises(Busy, match="in progress"), db.advisory_lock("unit", wait=False):
            pass
    assert not db.is_lock_held("unit")


def test_waiting_lock_is_granted_when_released(db_url):
    released = threading.Event()
    acquired = threading.Event()

    def waiter() -> None:
        with db.advisory_lock("unit", wait=True, timeout_s=30):
            acquired.set()

    with db.advisory_lock("unit", wait=False):
        thread = threading.Thread(target=waiter)
        thread.start()
        assert not acquired.wait(0.2)
        released.set()
    thread.join(timeout=30)
    assert acquired.is_set()


def test_waiting_lock_times_out(db_url):
    failures: list[BaseException] = []

    def waiter() -> None:
        try:
            with db.advisory_lock("unit", wait=True, timeout_s=0.3):
                pass
        except Busy as exc:
            failures.append(exc)

    with db.advisory_lock("unit", wait=False):
        thread = threading.Thread(target=waiter)
        thread.start()
        thread.join(timeout=30)
    assert failures and "timed out" in str(failures[0])


def test_locks_with_different_names_do_not_collide(db_url):
    with db.advisory_lock("one", wait=False), db.advisory_lock("two", wait=False):
        assert db.is_lock_held("one") and db.is_lock_held("two")
