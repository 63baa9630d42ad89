"""Every `aai ...` that deploy/ runs parses with the CLI (`--help` on the same arguments)."""

from __future__ import annotations

import pytest

from tests.cli import aai
from tests.deploy.conftest import DEPLOY
from tests.deploy.parsing import deploy_invocations

FOUND = deploy_invocations(DEPLOY)
BY_ARGS: dict[tuple[str, ...], list[str]] = {}
for where, arguments in FOUND:
    BY_ARGS.setdefault(tuple(arguments), []).append(where)


def test_the_deployment_runs_the_expected_commands():
    paths = {args[:2] if args[0] == "db" else args[:1] for args in BY_ARGS}
    assert paths >= {("db", "wait"), ("db", "upgrade"), ("db", "seed"), ("serve",), ("schedule",)}
    sources = {where.split()[0] for where, _ in FOUND}
    assert sources == {"Dockerfile", "compose", "aws"}


@pytest.mark.parametrize(
    "arguments", list(BY_ARGS), ids=[" ".join(args) or "(none)" for args in BY_ARGS]
)
def test_invocation_parses(arguments: tuple[str, ...]):
    result = aai(*arguments, "--help")
    assert result.exit_code == 0, (BY_ARGS[arguments], result.output)
    words = [a for a in arguments if not a.startswith("-")]
    if arguments and not arguments[0].startswith("-"):
        usage = " ".join(["aai", *words[: 2 if words[0] == "db" else 1]])
        assert usage in " ".join(result.output.split()), result.output
