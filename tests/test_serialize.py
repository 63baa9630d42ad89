"""The one serialiser (`aai_cli.serialize`): what a result looks like as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pydantic import BaseModel

from aai_cli.serialize import csv_cells, json_line, to_data, to_json

WHEN = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


@dataclass
class Inner:
    at: datetime
    tags: tuple[str, ...] = ()


@dataclass
class Outer:
    name: str
    inner: Inner
    many: list[Inner] = field(default_factory=list)
    extra: dict[int, date | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.hidden = "not a field"

    @property
    def computed(self) -> str:
        return "not a field either"


class Model(BaseModel):
    id: int
    seen: datetime | None
    inner: Inner | None = None


def test_dataclasses_nest_in_declared_order_without_properties_or_attributes() -> None:
    value = Outer("a", Inner(WHEN, ("x", "y")), [Inner(WHEN)], {1: date(2026, 2, 3), 2: None})
    assert to_data(value) == {
        "name": "a",
        "inner": {"at": "2026-01-02T03:04:05.123456+00:00", "tags": ["x", "y"]},
        "many": [{"at": "2026-01-02T03:04:05.123456+00:00", "tags": []}],
        "extra": {"1": "2026-02-03", "2": None},
    }
    assert list(to_data(value)) == ["name", "inner", "many", "extra"]


def test_datetimes_keep_isoformat_naive_or_aware() -> None:
    assert to_data(datetime(2021, 1, 1)) == "2021-01-01T00:00:00"
    assert to_data([WHEN, {"d": date(2026, 1, 2)}]) == [
        "2026-01-02T03:04:05.123456+00:00",
        {"d": "2026-01-02"},
    ]


def test_pydantic_models_are_their_fields_with_the_same_datetimes() -> None:
    model = Model(id=7, seen=WHEN, inner=Inner(WHEN))
    assert to_data(model) == {
        "id": 7,
        "seen": "2026-01-02T03:04:05.123456+00:00",
        "inner": {"at": "2026-01-02T03:04:05.123456+00:00", "tags": []},
    }
    assert to_data(Model(id=1, seen=None)) == {"id": 1, "seen": None, "inner": None}


def test_other_values_are_their_text_and_sets_lists() -> None:
    class Thing:
        def __str__(self) -> str:
            return "thing"

    assert to_data({"t": Thing(), "s": {3}, "f": 1.5, "b": True}) == {
        "t": "thing",
        "s": [3],
        "f": 1.5,
        "b": True,
    }


def test_json_forms() -> None:
    value = {"when": WHEN, "n": None}
    assert to_json(value) == '{\n  "when": "2026-01-02T03:04:05.123456+00:00",\n  "n": null\n}'
    assert json_line(Inner(WHEN)) == '{"at":"2026-01-02T03:04:05.123456+00:00","tags":[]}'
    assert json.loads(json_line(value)) == {"when": "2026-01-02T03:04:05.123456+00:00", "n": None}


def test_csv_cells_pick_columns_and_leave_none_empty() -> None:
    row = {"a": WHEN, "b": None, "c": False, "ignored": 1}
    assert csv_cells(row, ("a", "b", "c", "missing")) == {
        "a": "2026-01-02T03:04:05.123456+00:00",
        "b": "",
        "c": False,
        "missing": "",
    }
