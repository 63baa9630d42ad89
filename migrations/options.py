"""Alembic options shared by `env.py` (upgrades, autogenerate) and the schema check.

They live beside the revisions so that the migrations import only the models, and the
schema service imports the migrations (never the other way round).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.types import TypeDecorator

from aai_cli.models.derived import UNMODELLED_INDEXES


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our TypeDecorators as plain SQLAlchemy types, so that revisions import
    nothing from the application (a revision must not change when the models do)."""
    if type_ != "type" or not isinstance(obj, TypeDecorator):
        return False
    impl = obj.impl_instance
    if isinstance(impl, DateTime):
        return f"sa.DateTime(timezone={bool(impl.timezone)})"
    if isinstance(impl, String) and type(impl) is String:
        return f"sa.String(length={impl.length})" if impl.length else "sa.String()"
    return False


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave out of comparisons the indexes the database keeps beside the models."""
    return not (type_ == "index" and name in UNMODELLED_INDEXES)


def context_options(dialect_name: str) -> dict[str, Any]:
    return {
        "render_as_batch": dialect_name == "sqlite",
        "render_item": render_item,
        "compare_type": True,
        "include_object": include_object,
    }
