"""Email delivery holds no transaction while SMTP (or Auth0, expanding a role) answers.

The claim commits; before the fix the claimed row was then read again in a new write
transaction that stayed open during the send (SQLite's write lock held, a PostgreSQL
connection `idle in transaction`).
"""

from __future__ import annotations

import threading

from aai_cli.db import session_scope
from aai_cli.services.email import delivery
from tests.transactions import transactions_left_open

ROLE = "biocommons/role/sbp/admin"


def enqueue(to: str) -> None:
    with session_scope() as session:
        delivery.enqueue_email(
            session,
            kind="access_approved",
            to=to,
            context={"name": "Ada", "target_name": "Galaxy Australia", "reason": None},
        )


def deliver_while_held(held, db_url: str) -> tuple[list[str], list[dict]]:  # type: ignore[no-untyped-def]
    """Run a delivery in a worker thread; what is open on the database while `held` waits."""
    counts: list[dict] = []
    worker = threading.Thread(target=lambda: counts.append(delivery.run_delivery()))
    worker.start()
    try:
        assert held.wait_arrivals(1), "the delivery never reached the server"
        left_open = transactions_left_open(db_url)
    finally:
        held.release()
        worker.join(60)
    return left_open, counts


def test_no_transaction_is_open_while_smtp_answers(db_url, smtp_env) -> None:
    enqueue("ada@example.org")
    left_open, counts = deliver_while_held(smtp_env.hold(), db_url)
    assert left_open == []
    assert counts == [{"sent": 1, "expanded": 0, "retry": 0, "dead": 0, "skipped": 0}]
    assert [m.rcpt_tos for m in smtp_env.messages] == [["ada@example.org"]]


def test_no_transaction_is_open_while_auth0_lists_a_roles_members(
    db_url, auth0_env, smtp_env
) -> None:
    role_id = auth0_env.add_role(ROLE)["id"]
    auth0_env.assign_role(auth0_env.add_user(email="ann@example.org")["user_id"], role_id)
    enqueue(delivery.role_recipient(ROLE))
    held = auth0_env.hold("GET", r"/api/v2/roles/[^/]+/users")
    left_open, counts = deliver_while_held(held, db_url)
    assert left_open == []
    assert counts == [{"sent": 1, "expanded": 1, "retry": 0, "dead": 0, "skipped": 0}]
    assert [m.rcpt_tos for m in smtp_env.messages] == [["ann@example.org"]]
