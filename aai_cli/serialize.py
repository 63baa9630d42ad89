"""The one way results become JSON: `to_data` turns a result into plain JSON-ready data.

A dataclass is its fields in declared order (what a result shows is what it declares: a
property or a plain attribute is not shown), a pydantic model its `model_dump()`, a
datetime or date its `isoformat()` (`2026-01-02T03:04:05.123456+00:00`), a mapping a dict
with string keys, a list, tuple or set a list; anything else that JSON cannot hold is its
`str()`. Used by `--json`/`--csv` output, the exports, `job_runs.counts` and the tests.

Only the standard library: command modules import this at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from typing import Any


def to_data(value: Any) -> Any:
    """`value` as JSON-ready data: dicts, lists, strings, numbers, booleans and None."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in fields(value)}
    if callable(getattr(value, "model_dump", None)):  # a pydantic model
        return to_data(value.model_dump())
    if isinstance(value, Mapping):
        return {str(key): to_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_data(item) for item in value]
    return str(value)


def to_json(value: Any) -> str:
    """One indented JSON document (`--json`)."""
    return json.dumps(to_data(value), indent=2)


def json_line(value: Any) -> str:
    """One compact JSON line (the exports' JSON lines)."""
    return json.dumps(to_data(value), separators=(",", ":"))


def csv_cells(row: Any, columns: Iterable[str]) -> dict[str, Any]:
    """A CSV row of `columns`: each cell as `to_data` has it, None as an empty cell."""
    data = to_data(row)
    return {name: "" if data.get(name) is None else data[name] for name in columns}
