"""The shared rate limits on both databases: the cell rate arithmetic, exact counting under
concurrent hits, the database's clock, pruning by the `codes` job, and a database that
cannot count."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text
from sqlmodel import select

from aai_cli import db
from aai_cli.errors import DatabaseUnavailable
from aai_cli.models import RateLimitState
from aai_cli.services import ratelimits
from aai_cli.services.ratelimits import Limit
from aai_cli.services.scheduler import JobContext
from aai_cli.services.scheduler import jobs as scheduled_jobs
from aai_cli.settings import get_settings

T0 = 1_800_000_000.0
ONE_A_SECOND = Limit("test", per_minute=60, burst=3)
NO_REFILL = Limit("still", per_minute=0.001, burst=25)  # one hit back every 16 hours


def test_a_burst_then_one_hit_per_interval(db_url: str) -> None:
    def hit(key: str, at: float) -> float:
        return ratelimits.hit(ONE_A_SECOND, key, url=db_url, now=T0 + at)

    assert [hit("a", 0) for _ in range(3)] == [0, 0, 0]
    assert hit("a", 0) == 1.0  # one back each second
    assert hit("b", 0) == 0  # another client has its own allowance
    assert hit("a", 0.5) == 0.5
    assert hit("a", 1.0) == 0
    assert hit("a", 1.0) == 1.0
    assert hit("a", 10.0) == 0  # idle for long: a whole burst again, no more
    assert [hit("a", 10.0) for _ in range(3)] == [0, 0, 1.0]


def test_limits_with_one_name_share_the_count_and_others_do_not(db_url: str) -> None:
    twin = Limit("test", per_minute=60, burst=3)
    other = Limit("other", per_minute=60, burst=3)
    for limit in (ONE_A_SECOND, twin, ONE_A_SECOND):
        assert ratelimits.hit(limit, "a", url=db_url, now=T0) == 0
    assert ratelimits.hit(twin, "a", url=db_url, now=T0) == 1.0
    assert ratelimits.hit(other, "a", url=db_url, now=T0) == 0


def test_the_database_clock_counts_by_default(db_url: str) -> None:
    waits = [ratelimits.hit(NO_REFILL, "c", url=db_url) for _ in range(26)]
    assert waits[:25] == [0] * 25
    assert 57_000 < waits[25] <= 60_000  # one interval (60,000 s) less the moments since


def test_concurrent_hits_are_each_counted_once(db_url: str) -> None:
    """Eight threads, each its own connection, 40 hits at an allowance of 25."""
    with ThreadPoolExecutor(8) as pool:
        waits = list(pool.map(lambda _: ratelimits.hit(NO_REFILL, "k", url=db_url), range(40)))
    assert sum(1 for wait in waits if wait == 0) == 25
    with db.session_scope(db_url) as session:
        [state] = session.exec(select(RateLimitState)).all()
    assert (state.name, state.client_key, state.allowed) == ("still", "k", False)


def test_the_codes_job_prunes_the_rows_whose_allowance_is_whole(db_url: str) -> None:
    now = datetime.fromtimestamp(T0, UTC)
    ratelimits.hit(ONE_A_SECOND, "whole-at-t0+1", url=db_url, now=T0)
    for _ in range(3):
        ratelimits.hit(ONE_A_SECOND, "whole-at-t0+3", url=db_url, now=T0)
    [codes] = [job for job in scheduled_jobs.default_jobs(get_settings()) if job.name == "codes"]
    result = codes.run(JobContext("codes", now + timedelta(seconds=2), db_url))
    assert result["expired_rate_limits"] == 1
    with db.session_scope(db_url) as session:
        kept = session.exec(select(RateLimitState.client_key)).all()
    assert kept == ["whole-at-t0+3"]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_dropped_connection_is_tried_once_more(db_url: str) -> None:
    assert ratelimits.hit(ONE_A_SECOND, "a", url=db_url, now=T0) == 0
    with db.get_engine(db_url).connect() as connection:
        killed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'aai-counters' AND datname = current_database()"
            )
        ).scalar()
    assert killed == 1
    assert ratelimits.hit(ONE_A_SECOND, "a", url=db_url, now=T0) == 0  # on a new connection
    assert ratelimits.hit(ONE_A_SECOND, "a", url=db_url, now=T0) == 0
    assert ratelimits.hit(ONE_A_SECOND, "a", url=db_url, now=T0) == 1.0


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://nobody@127.0.0.1:9/none", "sqlite:////nonexistent-dir/aai.db"],
    ids=["postgres", "sqlite"],
)
def test_a_database_that_cannot_count_is_unavailable(url: str) -> None:
    with pytest.raises(DatabaseUnavailable, match="the rate limit cannot be counted"):
        ratelimits.hit(ONE_A_SECOND, "a", url=url)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_hit_is_one_statement_outside_any_transaction_on_postgres(db_url: str) -> None:
    """The budget is one round trip: no BEGIN or COMMIT (autocommit), no pre-ping."""
    engine = db.counter_engine(db_url)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    for _ in range(3):
        ratelimits.hit(ONE_A_SECOND, "a", url=db_url)
    assert [statement.split()[:2] for statement in sent] == [["INSERT", "INTO"]] * 3
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit is True  # type: ignore[union-attr]
        # nor does its commit wait for the disk (a crash may lose a moment's hits)
        assert connection.execute(text("SHOW synchronous_commit")).scalar() == "off"
    assert engine.pool._pre_ping is False  # type: ignore[attr-defined]
