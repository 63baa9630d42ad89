"""Which addresses count as an Australian research institution's: a few domains always,
the rest as the institution-validation service says."""

from __future__ import annotations

import pytest

from aai_cli.services.access.institutions import (
    InstitutionCheckUnavailable,
    is_australian_research_institution,
)


@pytest.fixture
def service(institution_env, settings_env):  # type: ignore[no-untyped-def]
    settings_env(SBP_ALLOWED_EMAIL_DOMAINS='["unimelb.edu.au", "@UQ.edu.au"]')
    return institution_env


@pytest.mark.parametrize(
    "email",
    ["jane@unimelb.edu.au", "Jane@UNIMELB.EDU.AU", "bob@uq.edu.au", "staff@biocommons.org.au"],
)
def test_listed_domains_pass_without_asking(service, email):
    assert is_australian_research_institution(email) is True
    assert service.requests == []


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("jane@student.unimelb.edu.au", False),  # listed domains match exactly, then we ask
        ("jane@unimelb.edu.au.evil.com", False),
        ("jane@gmail.com", False),
        ("ada@uni.edu.au", True),
        ("ada@lab.uni.edu.au", True),
    ],
)
def test_other_domains_are_asked(service, email, expected):
    assert is_australian_research_institution(email) is expected
    assert service.requests == [email]


def test_an_unclear_answer_is_unavailable_never_no(service):
    service.answer_next(200, {"valid": "yes"})
    with pytest.raises(InstitutionCheckUnavailable):
        is_australian_research_institution("jane@gmail.com")
