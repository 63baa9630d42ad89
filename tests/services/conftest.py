"""Fixtures shared by the service tests."""

from __future__ import annotations

import pytest

from aai_cli.models import User
from tests.services.directory_helpers import GALAXY, SBP, T0, TSI, add_user, decide


@pytest.fixture
def people(session):
    """alice: galaxy approved, sbp pending; bob: sbp rejected, tsi approved;
    carol: tsi pending (verified, blocked); dave: nothing; erin: soft-deleted, galaxy."""
    alice = add_user(session, "alice", 1, email_verified=True)
    bob = add_user(session, "bob", 2, email="bob_smith@example.org")
    carol = add_user(session, "carol", 3, email_verified=True, blocked=True)
    dave = add_user(session, "dave", 4, email="dave%x@example.org")
    erin = add_user(session, "erin", 5)
    decide(session, alice, GALAXY, "request")  # auto-approved
    decide(session, alice, SBP, "request")
    decide(session, bob, SBP, "request", "reject")
    decide(session, bob, TSI, "approve")
    decide(session, carol, TSI, "request")
    decide(session, erin, GALAXY, "approve")
    session.get(User, erin).deleted_at = T0  # deleted after the decision
    session.commit()
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin}
