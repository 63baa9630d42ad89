"""The root command: lazy start-up, --version, --debug and the one error boundary."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from aai_cli import __version__, errors
from aai_cli.main import AaiGroup
from tests.cli import aai, invoke

HEAVY_MODULES = [
    "sqlalchemy",
    "sqlmodel",
    "fastapi",
    "starlette",
    "uvicorn",
    "alembic",
    "auth0",
    "pygraphviz",
    "eralchemy2",
    "httpx",
    "psycopg",
    "jwt",
    "jinja2",
    "pydantic_settings",
]
CLOSED_PORT_URL = "postgresql://aai:hunter2-secret@127.0.0.1:1/aai"
README = Path(__file__).resolve().parents[1] / "README.md"


def loaded_after(code: str) -> set[str]:
    """Top-level packages a fresh interpreter has imported after running `code`."""
    probe = (
        f"{code}\n"
        "import json, sys\n"
        "sys.__stdout__.write(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_importing_main_loads_no_heavy_module() -> None:
    assert loaded_after("import aai_cli.main") & set(HEAVY_MODULES) == set()


def test_help_loads_no_heavy_module() -> None:
    argvs = [["--help"], ["db", "--help"], ["users", "--help"], ["db", "upgrade", "--help"]]
    code = (
        "import io, contextlib\n"
        "from aai_cli.main import app\n"
        f"for argv in {argvs!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n"
        "            app(argv, prog_name='aai')\n"
        "        except SystemExit:\n"
        "            pass\n"
    )
    assert loaded_after(code) & set(HEAVY_MODULES) == set()


def test_version() -> None:
    result = aai("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"aai {__version__}"


def test_help_lists_every_command() -> None:
    result = aai("--help")
    assert result.exit_code == 0
    for command in ("db", "diagram", "sync", "users", "serve", "schedule", "demo"):
        assert re.search(rf"\b{command}\b", result.stdout)


def test_unknown_option_is_a_usage_error() -> None:
    result = aai("db", "upgrade", "--no-such-option")
    assert result.exit_code == 2


def test_an_aai_error_is_one_line_and_its_code(settings_env) -> None:
    settings_env(DB_URL=CLOSED_PORT_URL)
    result = aai("db", "ping")
    assert result.exit_code == 5
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback_without_the_secret(settings_env) -> None:
    settings_env(DB_URL=CLOSED_PORT_URL)
    result = aai("--debug", "db", "ping")
    assert result.exit_code == 5
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "hunter2" not in result.stderr


def test_aai_debug_in_the_environment_is_the_debug_option(settings_env) -> None:
    settings_env(DB_URL=CLOSED_PORT_URL, AAI_DEBUG="1")
    result = aai("db", "ping")
    assert result.exit_code == 5
    assert "Traceback" in result.stderr
    assert "AAI_DEBUG" in aai("--help").stdout


def boundary_app(exc: BaseException) -> typer.Typer:
    test_app = typer.Typer(cls=AaiGroup)

    @test_app.command()
    def boom() -> None:
        raise exc

    @test_app.command()
    def other() -> None:  # a second command keeps `boom` a sub-command
        pass

    return test_app


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.UsageError("bad"), 2),
        (errors.InvalidInput("bad"), 2),
        (errors.CheckFailed("bad"), 3),
        (errors.Conflict("bad"), 3),
        (errors.NotFound("bad"), 4),
        (errors.DatabaseUnavailable("bad"), 5),
        (errors.Auth0Unavailable("bad"), 5),
        (errors.SmtpUnavailable("bad"), 5),
        (errors.ConfigError("bad"), 6),
        (errors.Busy("bad"), 7),
        (errors.SafetyGuard("bad"), 8),
    ],
)
def test_every_error_maps_to_its_exit_code(exc: errors.AaiError, code: int) -> None:
    result = invoke(boundary_app(exc), "boom")
    assert result.exit_code == code
    assert result.stderr.strip() == "error: bad"
    assert code in errors.EXIT_CODES


def test_unexpected_error_is_exit_1_with_a_hint() -> None:
    result = invoke(boundary_app(ValueError("kaput")), "boom")
    assert result.exit_code == 1
    assert "unexpected error: ValueError: kaput" in result.stderr
    assert "--debug" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_failure_escaping_a_command_reads_as_db_ping_says(settings_env) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    settings_env(DB_URL=CLOSED_PORT_URL)
    with pytest.raises(OperationalError) as refused:
        create_engine(CLOSED_PORT_URL).connect()
    result = invoke(boundary_app(refused.value), "boom")
    assert result.exit_code == 5
    assert result.stderr.strip() == (
        "error: cannot reach 127.0.0.1:1/aai: connection refused "
        "(is the server running and listening there?)"
    )
    assert "hunter2" not in result.stderr


def test_a_database_failure_escaping_a_command_masks_the_password(settings_env) -> None:
    from sqlalchemy.exc import OperationalError

    settings_env(DB_URL=CLOSED_PORT_URL)
    driver = RuntimeError("server closed the connection (login aai/hunter2-secret)")
    result = invoke(boundary_app(OperationalError("SELECT 1", {}, driver)), "boom")
    assert result.exit_code == 5
    assert result.stderr.strip() == (
        "error: database error on 127.0.0.1:1/aai: server closed the connection (login aai/***)"
    )


def test_interrupt_is_exit_130() -> None:
    result = invoke(boundary_app(KeyboardInterrupt()), "boom")
    assert result.exit_code == 130


def test_the_readme_documents_every_exit_code() -> None:
    table = dict(re.findall(r"^\| (\d) \| (.+) \|$", README.read_text(), flags=re.MULTILINE))
    assert sorted(int(code) for code in table) == sorted(errors.EXIT_CODES)
