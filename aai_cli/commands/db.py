"""`aai db`: migrations, the schema check, connectivity and the catalog seed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aai_cli.commands import JsonOpt

if TYPE_CHECKING:
    from aai_cli.services.access.catalog import SeedReport

app = typer.Typer(help="Database: migrate, check, ping, wait, seed.", no_args_is_help=True)

MigrationsDirOpt = Annotated[
    Path | None,
    typer.Option("--migrations-dir", hidden=True, help="Another Alembic script directory (tests)."),
]


def _url() -> str:
    from aai_cli.settings import get_settings

    return get_settings().database_url


def _revisions(revisions: list[str]) -> str:
    return ", ".join(revisions) or "base"


@app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    sql: Annotated[
        bool, typer.Option("--sql", help="Print the SQL instead of running it.")
    ] = False,
    migrations_dir: MigrationsDirOpt = None,
) -> None:
    """Migrate the database (and seed the catalog on the embedded SQLite default)."""
    from aai_cli import console
    from aai_cli.services.access import catalog
    from aai_cli.services.schema import migrations
    from aai_cli.services.schema.connectivity import translate_db_errors
    from aai_cli.settings import get_settings

    settings = get_settings()
    url = settings.database_url
    if sql:
        sys.stdout.write(migrations.upgrade_sql(url, revision, directory=migrations_dir))
        return
    result = migrations.upgrade(url, revision, directory=migrations_dir)
    if result.changed:
        console.success(f"upgraded {_revisions(result.before)} -> {_revisions(result.after)}")
    else:
        console.info(f"already at {_revisions(result.after)}: nothing to do")
    with translate_db_errors(url):
        report = catalog.seed_embedded_default(settings, directory=migrations_dir)
    if report is not None:
        _report_seed(report, as_json=False)


@app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision ('base' removes every table).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    migrations_dir: MigrationsDirOpt = None,
) -> None:
    """Migrate the database down to REVISION (drops what later revisions added)."""
    from aai_cli import console
    from aai_cli.errors import UsageError
    from aai_cli.services.schema import migrations
    from aai_cli.services.schema.connectivity import describe_target

    url = _url()
    if not yes:
        if not console.is_tty(sys.stdin):
            raise UsageError("downgrade can drop data: pass --yes (there is no terminal to ask)")
        typer.confirm(
            f"Downgrade the {describe_target(url)} to {revision}? Tables and data may be lost",
            abort=True,
        )
    result = migrations.downgrade(url, revision, directory=migrations_dir)
    if result.changed:
        console.success(f"downgraded {_revisions(result.before)} -> {_revisions(result.after)}")
    else:
        console.info(f"already at {_revisions(result.after)}: nothing to do")


@app.command()
def current(as_json: JsonOpt = False, migrations_dir: MigrationsDirOpt = None) -> None:
    """Show the revision the database is at."""
    from aai_cli import console
    from aai_cli.serialize import to_data
    from aai_cli.services.schema import migrations
    from aai_cli.services.schema.connectivity import redacted_url

    url = _url()
    status = migrations.current(url, directory=migrations_dir)
    if as_json:
        console.print_json({"database": redacted_url(url), **to_data(status)})
        return
    state = "at head" if status.at_head else f"head is {_revisions(status.heads)}"
    typer.echo(f"{_revisions(status.current)} ({state})")


@app.command()
def history(as_json: JsonOpt = False, migrations_dir: MigrationsDirOpt = None) -> None:
    """List the migrations, newest first (no database needed)."""
    from aai_cli import console
    from aai_cli.services.schema import migrations

    revisions = migrations.history(migrations_dir)
    if as_json:
        console.print_json(revisions)
        return
    console.print_table(
        ["revision", "down revision", "head", "message"],
        [
            (r.revision, r.down_revision or "base", "yes" if r.is_head else "", r.message)
            for r in revisions
        ],
    )


@app.command()
def check(migrations_dir: MigrationsDirOpt = None) -> None:
    """Exit 0 when the database is at head and matches the models; 3 naming the drift."""
    from aai_cli import console
    from aai_cli.services.schema import migrations

    migrations.check(_url(), directory=migrations_dir)
    console.success(f"at head ({_revisions(migrations.heads(migrations_dir))}); models match")


@app.command()
def revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the revision changes.")],
    autogenerate: Annotated[
        bool,
        typer.Option(
            "--autogenerate", help="Fill the revision from the difference with the models."
        ),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            "--url", help="Scratch database to autogenerate against (default: temp SQLite)."
        ),
    ] = None,
    migrations_dir: MigrationsDirOpt = None,
) -> None:
    """Write a new migration file (prints its path)."""
    from aai_cli import console
    from aai_cli.services.schema import migrations
    from aai_cli.settings import normalise_db_url

    path = migrations.create_revision(
        message,
        autogenerate=autogenerate,
        url=normalise_db_url(url) if url else None,
        directory=migrations_dir,
    )
    if path is None:
        console.info("no difference between the models and the migrations: nothing written")
        return
    typer.echo(str(path))
    console.success("review the new revision, then run `aai db upgrade`")


@app.command()
def ping(as_json: JsonOpt = False) -> None:
    """Check connectivity: server version and round-trip time; exit 5 on failure."""
    from aai_cli import console
    from aai_cli.services.schema import connectivity

    result = connectivity.ping(_url())
    if as_json:
        console.print_json(result)
        return
    typer.echo(
        f"ok: {result.backend} {result.server_version} at {result.database} "
        f"(connect {result.connect_ms:.1f} ms, round trip {result.rtt_ms:.1f} ms)"
    )


@app.command()
def wait(
    timeout: Annotated[
        float, typer.Option("--timeout", min=0, help="Give up after S seconds.")
    ] = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """Wait until the database answers (container start-up); exit 5 after the timeout."""
    from aai_cli import console
    from aai_cli.services.schema import connectivity

    def report(attempt: int, error: Exception, pause: float) -> None:
        console.info(
            f"waiting for the database (attempt {attempt}): {error}; retrying in {pause:.1f} s"
        )

    result = connectivity.wait(_url(), timeout_s=timeout, on_retry=report)
    if as_json:
        console.print_json(result)
    else:
        console.success(f"the database answers: {result.backend} {result.server_version}")


@app.command()
def seed(
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="A JSON or YAML catalog replacing the built-in default."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Upsert the catalog of platforms and groups (idempotent)."""
    _seed(_url(), file, as_json=as_json)


def _seed(url: str, file: Path | None, *, as_json: bool) -> None:
    from aai_cli import db
    from aai_cli.services.access import catalog
    from aai_cli.services.schema import migrations
    from aai_cli.services.schema.connectivity import translate_db_errors

    spec = catalog.load_catalog_file(file) if file else None
    migrations.require_tables(url, "platforms", "groups")
    with translate_db_errors(url), db.session_scope(url) as session:
        report = catalog.seed_catalog(session, spec)
    _report_seed(report, as_json=as_json)


def _report_seed(report: SeedReport, *, as_json: bool) -> None:
    from aai_cli import console

    if as_json:
        console.print_json(report)
        return
    console.success(
        f"catalog seeded: {len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged"
        + (f", {len(report.retired)} retired (no longer offered)" if report.retired else "")
    )
