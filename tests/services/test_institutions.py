"""Which addresses count as an Australian research institution's."""

from __future__ import annotations

import pytest

from aai_cli.services.institutions import institutional_email
from aai_cli.settings import get_settings


@pytest.fixture(autouse=True)
def _domains(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SBP_ALLOWED_EMAIL_DOMAINS", '["unimelb.edu.au", "@UQ.edu.au"]')
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("jane@unimelb.edu.au", True),
        ("Jane@UNIMELB.EDU.AU", True),
        ("bob@uq.edu.au", True),
        ("staff@biocommons.org.au", True),
        ("jane@student.unimelb.edu.au", False),  # exact domains only
        ("jane@unimelb.edu.au.evil.com", False),
        ("jane@gmail.com", False),
        ("@unimelb.edu.au", False),
        ("unimelb.edu.au", False),
        ("", False),
        (None, False),
    ],
)
def test_institutional_email(email, expected):
    assert institutional_email(email) is expected
