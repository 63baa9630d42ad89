"""Bulk access decisions from a CSV or JSON-lines file (migrations of legacy access lists).

Rows are `user, platform|group, action, reason`. `check_rows` runs every row through the
real membership service inside a savepoint that is always rolled back, so validation is
exactly the rules the apply will meet (unknown users and targets, illegal transitions given
the rows before, missing reasons). `apply_rows` then applies one batch in the caller's
transaction.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlmodel import Session

from aai_cli import files
from aai_cli.errors import AaiError, InvalidInput
from aai_cli.models import Target
from aai_cli.services import directory
from aai_cli.services.access import memberships
from aai_cli.services.access.memberships import ACTIONS
from aai_cli.services.access.results import TransitionResult

COLUMNS = ("user", "platform", "group", "action", "reason")
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True)
class ImportRow:
    line: int
    user: str
    action: str
    platform: str | None = None
    group: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    changed: int = 0
    unchanged: int = 0
    dry_run: bool = True
    batches: int = 0
    by_action: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    role_change_ids: list[int] = field(default_factory=list)

    def count(self, result: TransitionResult) -> None:
        if result.changed:
            self.changed += 1
            self.by_action[result.action] = self.by_action.get(result.action, 0) + 1
        else:
            self.unchanged += 1

    def add(self, batch: ImportReport) -> None:
        self.changed += batch.changed
        self.unchanged += batch.unchanged
        self.batches += 1
        for action, n in batch.by_action.items():
            self.by_action[action] = self.by_action.get(action, 0) + n
        self.role_change_ids.extend(batch.role_change_ids)

    def summary(self) -> ImportSummary:
        shown = {f.name: getattr(self, f.name) for f in fields(ImportSummary)}
        return ImportSummary(**shown | {"by_action": dict(sorted(self.by_action.items()))})


@dataclass(frozen=True)
class ImportSummary:
    """What `aai users import --json` shows of a report (not the role changes to push)."""

    rows: int
    dry_run: bool
    changed: int
    unchanged: int
    by_action: dict[str, int]  # sorted by action
    batches: int
    errors: list[RowError]


# --- reading -----------------------------------------------------------------------


def read_rows(path: Path) -> list[ImportRow]:
    """Parse the file (JSONL by suffix or when it starts with `{`, else CSV)."""
    text = files.read_text(path, encoding="utf-8-sig")
    is_json = path.suffix.lower() in JSON_SUFFIXES or text.lstrip().startswith("{")
    return parse_jsonl(text, source=str(path)) if is_json else parse_csv(text, source=str(path))


def parse_csv(text: str, *, source: str = "input") -> list[ImportRow]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    _check_columns(header, source)
    reader.fieldnames = header
    return [_row(line, record, source) for line, record in enumerate(reader, start=2)]


def parse_jsonl(text: str, *, source: str = "input") -> list[ImportRow]:
    rows = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{source}:{line}: not valid JSON: {exc.msg}") from None
        if not isinstance(record, dict):
            raise InvalidInput(f"{source}:{line}: expected a JSON object")
        _check_columns([str(k).lower() for k in record], source, line=line)
        rows.append(_row(line, {str(k).lower(): v for k, v in record.items()}, source))
    return rows


def _check_columns(names: list[str], source: str, *, line: int | None = None) -> None:
    where = f"{source}:{line}" if line else source
    unknown = sorted(set(names) - set(COLUMNS))
    if unknown:
        raise InvalidInput(
            f"{where}: unknown columns {', '.join(unknown)} (expected {', '.join(COLUMNS)})"
        )
    if line is None and not {"user", "action"} <= set(names):
        raise InvalidInput(f"{where}: the header needs user, action and platform or group")


def _row(line: int, record: dict[str, Any], source: str) -> ImportRow:
    values = {k: (str(v).strip() if v is not None else "") for k, v in record.items() if k}
    if None in record:  # csv.DictReader: more cells than header columns
        raise InvalidInput(f"{source}:{line}: more values than columns")
    return ImportRow(
        line=line,
        user=values.get("user", ""),
        action=values.get("action", "").lower(),
        platform=values.get("platform") or None,
        group=values.get("group") or None,
        reason=values.get("reason") or None,
    )


# --- validating and applying -------------------------------------------------------


class _Resolver:
    """Caches user and target lookups across the rows of one run."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.users: dict[str, str] = {}
        self.targets: dict[tuple[str | None, str | None], Target] = {}

    def user_id(self, ident: str) -> str:
        if ident not in self.users:
            self.users[ident] = directory.resolve_user(self.session, ident).id
        return self.users[ident]

    def target(self, row: ImportRow) -> Target:
        key = (row.platform, row.group)
        if key not in self.targets:
            self.targets[key] = directory.resolve_target(
                self.session, platform=row.platform, group=row.group
            )
        return self.targets[key]


def _apply_row(resolver: _Resolver, row: ImportRow, actor: str) -> TransitionResult:
    if not row.user:
        raise InvalidInput("the user is empty")
    if row.action not in ACTIONS:
        raise InvalidInput(f"unknown action {row.action!r} (one of {', '.join(ACTIONS)})")
    if (row.platform is None) == (row.group is None):
        raise InvalidInput("give exactly one of platform or group")
    return memberships.transition(
        resolver.session,
        user_id=resolver.user_id(row.user),
        target=resolver.target(row),
        action=row.action,
        actor=actor,
        reason=row.reason,
        reasons_required=memberships.OPERATOR_REASON_REQUIRED,
    )


def check_rows(session: Session, rows: list[ImportRow], *, actor: str) -> ImportReport:
    """Every row through the real service in a savepoint rolled back at the end: the
    report says what an apply would change and lists every invalid row."""
    report = ImportReport(rows=len(rows), dry_run=True)
    resolver = _Resolver(session)
    savepoint = session.begin_nested()
    try:
        for row in rows:
            try:
                report.count(_apply_row(resolver, row, actor))
            except AaiError as exc:
                report.errors.append(RowError(row.line, str(exc)))
    finally:
        savepoint.rollback()
    return report


def apply_rows(session: Session, rows: list[ImportRow], *, actor: str) -> ImportReport:
    """Apply one batch in the caller's transaction; any error aborts the batch."""
    report = ImportReport(rows=len(rows), dry_run=False)
    resolver = _Resolver(session)
    results = []
    for row in rows:
        try:
            result = _apply_row(resolver, row, actor)
        except AaiError as exc:
            exc.message = f"line {row.line}: {exc.message}"
            raise
        report.count(result)
        results.append(result)
    report.role_change_ids = memberships.pending_change_ids(session, results)
    return report
