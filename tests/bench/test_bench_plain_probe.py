"""The plain design probed: the directory's main queries as indexed EXISTS probes over
the membership tables instead of the derived masks (not in the default run).

    uv run --extra dev pytest -m bench tests/bench/test_bench_plain_probe.py -s
    (set AAI_TEST_POSTGRES_URL for the Postgres rows)

Not wired into the product: it measures what dropping the derived columns
(docs/directory.md) would cost. Both sides run the same page and count statements of
`services.directory.query` on the same 100,000 users; only the WHERE clause differs (the
masks, or EXISTS probes), and the plain side gets the indexes it would need: covering
indexes on the membership tables in both directions, a users index in page order
without the masks, and on Postgres a trigram index on the lowered email and username
(the expression, no derived column). Prints service-level medians (no HTTP, no auth).
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import ColumnElement, case, exists, func, literal, or_, select

from aai_cli import db
from tests.bench.directory_data import N_USERS, median_ms, populate, scratch_database, settle

pytestmark = pytest.mark.bench

TSI = "biocommons/group/tsi"
PLAIN_INDEXES = (
    "CREATE INDEX ix_plain_pm_target ON platform_memberships (platform_id, status, user_id)",
    "CREATE INDEX ix_plain_pm_user ON platform_memberships (user_id, platform_id, status)",
    "CREATE INDEX ix_plain_pm_status ON platform_memberships (status, user_id)",
    "CREATE INDEX ix_plain_gm_target ON group_memberships (group_id, status, user_id)",
    "CREATE INDEX ix_plain_gm_user ON group_memberships (user_id, group_id, status)",
    "CREATE INDEX ix_plain_gm_status ON group_memberships (status, user_id)",
    "CREATE INDEX ix_plain_users ON users (deleted_at, created_at, id, email_verified, blocked)",
)
SEARCH_EXPR = "(lower(coalesce(email, '')) || '\n' || lower(coalesce(username, '')))"
POSTGRES_SEARCH_INDEX = (
    f"CREATE INDEX ix_plain_search ON users USING gin ({SEARCH_EXPR} gin_trgm_ops) "
    "WHERE deleted_at IS NULL"
)


@pytest.fixture(params=["sqlite", "postgres"])
def big_db(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    with scratch_database(request.param, tmp_path_factory.mktemp("bench")) as url:
        started = time.perf_counter()
        populate(url, N_USERS)
        engine = db.get_engine(url)
        with engine.begin() as conn:
            for statement in PLAIN_INDEXES:
                conn.exec_driver_sql(statement)
            if request.param == "postgres":
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                conn.exec_driver_sql(POSTGRES_SEARCH_INDEX)
        settle(url)
        elapsed = time.perf_counter() - started
        print(f"\n[{request.param}] {N_USERS} users loaded in {elapsed:.1f} s")
        yield request.param, url


class Plain:
    """The WHERE clause of the plain design: a membership is an EXISTS probe."""

    def __init__(self, semi_join: bool) -> None:
        from aai_cli.services.directory.filters import GM, PM, U

        self.U = U
        self.semi_join = semi_join  # `id IN (SELECT user_id ...)` rather than EXISTS
        self.kinds = {"platform": (PM, PM.c.platform_id), "group": (GM, GM.c.group_id)}

    def member(
        self, kind: str, targets: list[str] | None, status: str | None
    ) -> ColumnElement[bool]:
        table, target = self.kinds[kind]
        conds = [] if self.semi_join else [table.c.user_id == self.U.c.id]
        if targets is not None:
            conds.append(target.in_(targets))
        if status is not None:
            conds.append(table.c.status == status)
        if self.semi_join:
            return self.U.c.id.in_(select(table.c.user_id).where(*conds))
        return exists(select(literal(1)).select_from(table).where(*conds))

    def any_status(self, scope: dict | None, status: str) -> ColumnElement[bool]:
        return or_(
            self.member("platform", None if scope is None else scope["platform"], status),
            self.member("group", None if scope is None else scope["group"], status),
        )

    def in_scope(self, scope: dict) -> ColumnElement[bool]:
        return or_(
            self.member("platform", scope["platform"], None),
            self.member("group", scope["group"], None),
        )

    def search(self, term: str) -> ColumnElement[bool]:
        from sqlalchemy import text

        return text(f"{SEARCH_EXPR} LIKE lower(:pattern)").bindparams(pattern=f"%{term}%")

    def where(self, case_: str, scope: dict | None) -> list[ColumnElement[bool]]:
        U = self.U
        conds: list[ColumnElement[bool]] = [U.c.deleted_at.is_(None)]
        inside = False
        if case_ == "platform=sbp&platform_approval_status=pending":
            conds.append(self.member("platform", ["sbp"], "pending"))
            inside = True
        elif case_ == "group=tsi&group_approval_status=approved":
            conds.append(self.member("group", [TSI], "approved"))
        elif case_ == "approval_status=pending":
            conds.append(self.any_status(scope, "pending"))
            inside = True
        elif case_ == "search=user1234&email_verified=true":
            conds += [U.c.email_verified.is_(True), self.search("user1234")]
        if scope is not None and not inside:
            conds.append(self.in_scope(scope))
        return conds

    def badges(self, session, scope: dict | None) -> dict[str, int]:  # type: ignore[no-untyped-def]
        flags = {
            "pending": self.any_status(scope, "pending"),
            "revoked": self.any_status(scope, "revoked"),
            "unverified": self.U.c.email_verified.is_(False),
        }
        sums = [func.coalesce(func.sum(case((f, 1), else_=0)), 0) for f in flags.values()]
        stmt = select(func.count(), *sums).select_from(self.U).where(*self.where("", scope))
        total, *counts = session.connection().execute(stmt).one()
        return {"all": int(total), **dict(zip(flags, map(int, counts), strict=True))}


CASES = {
    "no filter": {},
    "platform=sbp&platform_approval_status=pending": {
        "platform": "sbp",
        "platform_status": "pending",
    },
    "group=tsi&group_approval_status=approved": {"group": TSI, "group_status": "approved"},
    "approval_status=pending": {"status": "pending"},
    "search=user1234&email_verified=true": {"search": "user1234", "email_verified": True},
}


def test_bench_plain_probe(big_db):
    from aai_cli.services import directory
    from aai_cli.services.directory import query as q
    from aai_cli.services.directory.query import AdminScope, UserQuery

    backend, url = big_db
    plains = (Plain(semi_join=False), Plain(semi_join=True))
    scopes = {
        "super": (AdminScope.everything(), None),
        "scoped": (
            AdminScope(platforms=frozenset({"sbp"}), groups=frozenset({TSI})),
            {"platform": ["sbp"], "group": [TSI]},
        ),
    }
    rows = []
    with db.session_scope(url) as session:

        def plain_page(conds):  # type: ignore[no-untyped-def]
            # what list_page does: the page, and the count when the page is full
            records = q._page(session, conds, limit=50, offset=0, sort="created_at")
            return records, q._count(session, conds) if len(records) == 50 else len(records)

        for who, (scope, plain_scope) in scopes.items():
            for label, fields in CASES.items():
                query = UserQuery(**fields)
                derived_ms = median_ms(
                    lambda s=scope, u=query: directory.list_page(session, u, scope=s)
                )
                derived_page, derived_total = directory.list_page(session, query, scope=scope)
                timings = []
                for plain in plains:
                    conds = plain.where(label, plain_scope)
                    timings.append(median_ms(lambda c=conds: plain_page(c)))
                    # the same users either way
                    plain_records, plain_total = plain_page(conds)
                    assert [r.id for r in plain_records] == [r.id for r in derived_page], label
                    assert plain_total == derived_total, label
                rows.append((f"{label} ({who})", derived_ms, *timings, derived_total))
            derived_ms = median_ms(
                lambda s=scope: directory.badge_counts(session, UserQuery(), scope=s)
            )
            expected = directory.badge_counts(session, UserQuery(), scope=scope)
            timings = []
            for plain in plains:
                timings.append(median_ms(lambda s=plain_scope, p=plain: p.badges(session, s)))
                assert plain.badges(session, plain_scope) == expected
            rows.append((f"/counts badges ({who})", derived_ms, *timings, expected["all"]))
    print(f"\n{backend}: {N_USERS:,} users, page of 50 + count (service level, medians)")
    print(f"  {'case':<56} {'masks':>9} {'EXISTS':>9} {'IN':>9}  matches")
    for label, derived_ms, exists_ms, in_ms, total in rows:
        figures = " ".join(f"{ms:>6.1f} ms" for ms in (derived_ms, exists_ms, in_ms))
        print(f"  {label:<56} {figures}  {total:>7,}")
