"""The database layer: sessions own their transaction, locks exclude other holders."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
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


def _read_then_write(url: str, worker: int, rounds: int) -> int:
    """Run in a child process: transactions that read, then write. Returns failures."""
    from sqlalchemy import func

    failures = 0
    for n in range(rounds):
        try:
            with db.session_scope(url) as session:
                session.exec(select(func.count()).select_from(User)).one()
                session.add(User(id=f"auth0|w{worker}-{n}"))
        except Exception:
            failures += 1
    return failures


def test_concurrent_read_then_write_transactions_all_commit_on_sqlite(tmp_path):
    """Deferred SQLite transactions that read and then write fail at once, without the
    busy wait, when another process committed in between: sessions that may write take
    the write lock when they begin."""
    import multiprocessing

    from aai_cli.models import metadata

    url = f"sqlite:///{tmp_path / 'concurrent.db'}"
    metadata.create_all(db.get_engine(url))
    rounds = 60
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        failures = pool.starmap(_read_then_write, [(url, w, rounds) for w in range(3)])
    assert failures == [0, 0, 0]
    with db.session_scope(url, readonly=True) as session:
        assert len(session.exec(select(User)).all()) == 3 * rounds


def test_a_readonly_session_reads_beside_an_open_write_on_sqlite(tmp_path):
    from aai_cli.models import metadata

    url = f"sqlite:///{tmp_path / 'readers.db'}"
    metadata.create_all(db.get_engine(url))
    with db.session_scope(url) as writer:
        writer.add(User(id="auth0|pending"))
        writer.flush()  # the write lock is held until the block ends
        with db.session_scope(url, readonly=True) as reader:
            assert reader.exec(select(User)).all() == []  # no wait, no error


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_server_probes_an_idle_connection_so_a_dead_host_frees_its_locks(db_url):
    with db.get_engine(db_url).connect() as connection:
        probe = [
            connection.execute(text(f"SHOW {name}")).scalar()
            for name in ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")
        ]
    assert probe == ["30", "10", "3"]  # a vanished host is noticed within a minute
