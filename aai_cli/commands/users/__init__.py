"""`aai users`: see who has access to what, decide requests, get data out.

Reads here (list, show, pending, export); decisions and import in `decide.py`; account
changes (rename, set-email, reset-password, delete, restore) in `accounts.py`.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from aai_cli.commands.users import accounts as account_changes
from aai_cli.commands.users import decide
from aai_cli.commands.users import export as exports
from aai_cli.errors import UsageError

app = typer.Typer(
    help="Users and their access: list, show, decide, request, export, import.",
    no_args_is_help=True,
)

PlatformOpt = Annotated[str | None, typer.Option("--platform", "-p", help="Platform id.")]
GroupOpt = Annotated[
    str | None, typer.Option("--group", "-g", help="Group id, its last part, or short name.")
]
StatusOpt = Annotated[
    str | None,
    typer.Option(help="pending|approved|rejected|revoked (of the --platform/--group membership)."),
]
SearchOpt = Annotated[str | None, typer.Option(help="Substring of the email or username.")]
VerifiedOpt = Annotated[
    bool | None, typer.Option("--email-verified/--no-email-verified", help="Email verified?")
]
BlockedOpt = Annotated[bool, typer.Option("--blocked", help="Only users blocked in Auth0.")]
DeletedOpt = Annotated[bool, typer.Option("--deleted", help="Only soft-deleted users.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="CSV with a header on stdout.")]

# The user filter of `list` and `export`: (annotation, default) of each option, in order.
USER_FILTERS: dict[str, tuple[Any, Any]] = {
    "platform": (PlatformOpt, None),
    "group": (GroupOpt, None),
    "status": (StatusOpt, None),
    "search": (SearchOpt, None),
    "email_verified": (VerifiedOpt, None),
    "blocked": (BlockedOpt, False),
    "deleted": (DeletedOpt, False),
}


def with_user_filters(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` the user filter options where its `filters` parameter stands; it
    receives them together as the dict `filters` (the keyword arguments of build_query)."""
    signature = inspect.signature(command, eval_str=True)
    own = list(signature.parameters.values())
    at = [p.name for p in own].index("filters")
    options = [
        inspect.Parameter(name, own[at].kind, annotation=a, default=d)
        for name, (a, d) in USER_FILTERS.items()
    ]

    @functools.wraps(command)
    def with_filters(**kwargs: Any) -> None:
        command(filters={name: kwargs.pop(name) for name in USER_FILTERS}, **kwargs)

    # Typer reads the options from the signature.
    with_filters.__signature__ = signature.replace(  # type: ignore[attr-defined]  # not typed on functions
        parameters=[*own[:at], *options, *own[at + 1 :]]
    )
    return with_filters


@app.command("list")
@with_user_filters
def list_(
    *,
    filters: dict[str, Any],
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Page size.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Users to skip.")] = 0,
    sort: Annotated[
        str,
        typer.Option(help="created_at|updated_at|last_login|email|username|id; '-' descends."),
    ] = "created_at",
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """List users with their memberships, in a stable order."""
    from aai_cli import console
    from aai_cli.commands.users import output as out
    from aai_cli.db import session_scope
    from aai_cli.services import directory

    console.reject_json_and_csv(as_json, as_csv)
    with session_scope(readonly=True) as session:
        query = exports.build_query(session, **filters)
        page: dict[str, Any] = {"limit": limit, "offset": offset, "sort": sort}
        total: int | None = None
        if not (as_json or as_csv) and console.is_tty(sys.stdout):
            records, total = directory.list_page(session, query, **page)
        else:
            records = directory.list_users(session, query, **page)
    if as_json:
        console.print_json(records)
    elif as_csv:
        console.print_csv((out.csv_row(r) for r in records), out.CSV_COLUMNS)
    else:
        console.print_table(out.TABLE_COLUMNS, (out.table_row(r) for r in records))
        if total is not None:
            end = offset + len(records)
            console.info(f"{offset + 1 if records else 0}-{end} of {total} users")


@app.command()
def show(
    user: Annotated[str, typer.Argument(help="Auth0 id, email or username.")],
    as_json: JsonOpt = False,
) -> None:
    """A user's profile, memberships, membership history and identity history."""
    from dataclasses import fields

    from aai_cli import console
    from aai_cli.commands.users import output as out
    from aai_cli.db import session_scope
    from aai_cli.serialize import to_data
    from aai_cli.services import accounts, directory

    with session_scope(readonly=True) as session:
        found = directory.resolve_user(session, user)
        record = directory.get_user_record(session, found.id)
        history = directory.list_history(session, found.id)
        identity = [
            accounts.event_dict(e) for e in accounts.list_identity_history(session, found.id)
        ]
    assert record is not None
    if as_json:
        console.print_json(
            {
                **to_data(record),
                "history": [out.event_dict(e) for e in history],
                "identity_history": identity,
            }
        )
        return
    profile = [f.name for f in fields(record) if not f.name.endswith("_memberships")]
    rows = ((name, out.display(getattr(record, name))) for name in profile)
    console.print_table(("field", "value"), rows, title=f"user {record.id}")
    console.print_table(out.MEMBERSHIP_COLUMNS, out.membership_rows(record), title="memberships")
    console.print_table(
        ("when", "target", "from", "to", "actor", "reason"),
        (out.event_row(e) for e in history),
        title="history",
    )
    console.print_table(
        ("when", "change", "from", "to", "actor", "reason"),
        (out.identity_row(e) for e in identity),
        title="identity history",
    )


@app.command()
def pending(
    platform: PlatformOpt = None,
    group: GroupOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """The requests waiting for a decision, oldest first."""
    from aai_cli import console
    from aai_cli.commands.users import output as out
    from aai_cli.db import session_scope
    from aai_cli.services import directory

    console.reject_json_and_csv(as_json, as_csv)
    if platform and group:
        raise UsageError("give --platform or --group, not both")
    with session_scope(readonly=True) as session:
        platform_id = directory.resolve_platform(session, platform) if platform else None
        group_id = directory.resolve_group(session, group) if group else None
        items = directory.list_pending(session, platform=platform_id, group=group_id)
    columns = ("requested_at", "age_s", "user_id", "email", "kind", "target_id", "request_reason")
    if as_json:
        console.print_json(items)
    elif as_csv:
        console.print_csv(items, columns)
    else:
        console.print_table(
            ("requested", "age", "user", "email", "target", "request reason"),
            (
                (i.requested_at.strftime("%Y-%m-%d %H:%M") if i.requested_at else None,
                 out.human_age(i.age_s), i.user_id, i.email, out.short_group(i.target_id),
                 i.request_reason)
                for i in items
            ),
        )  # fmt: skip


@app.command()
@with_user_filters
def export(
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write; '-' for stdout.")
    ] = "-",
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    *,
    filters: dict[str, Any],
) -> None:
    """Stream every matching user with memberships (constant memory), ordered by id."""
    if fmt not in ("csv", "jsonl"):
        raise UsageError("--format must be csv or jsonl")
    exports.export_users(output=None if output == "-" else Path(output), fmt=fmt, filters=filters)


app.command("approve")(decide.decision("approve"))
app.command("reject")(decide.decision("reject"))
app.command("revoke")(decide.decision("revoke"))
app.command("unrevoke")(decide.decision("unrevoke"))
app.command("unreject")(decide.decision("unreject"))
app.command("request")(decide.decision("request"))
app.command("import")(decide.import_)
app.command("rename")(account_changes.rename)
app.command("set-email")(account_changes.set_email)
app.command("reset-password")(account_changes.reset_password)
app.command("delete")(account_changes.delete)
app.command("restore")(account_changes.restore)
