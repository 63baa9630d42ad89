"""The import direction of docs/architecture.md, checked on the source:

commands -> services -> models/db/settings/errors, api -> services; services import neither
typer/rich nor fastapi (nor commands/api); nothing imports commands except main (and the
command modules themselves); api never imports commands; nobody imports click; command
modules import only typer and light modules at top level.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UI_LIBRARIES = ("typer", "rich", "click", "fastapi", "starlette", "uvicorn")
LIGHT_TOP_LEVEL = ("__future__", "typer", "aai_cli.errors", "aai_cli.console", "aai_cli.commands")


def python_files(*parts: str) -> list[Path]:
    base = ROOT.joinpath(*parts)
    return sorted(base.rglob("*.py")) if base.is_dir() else []


def imports(path: Path, *, top_level_only: bool = False) -> Iterator[tuple[int, str]]:
    """(line, module) for every import; `from a import b` yields a and a.b."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def matches(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in files
        for line, module in imports(path)
        if matches(module, forbidden)
    ]


def test_the_layout_exists() -> None:
    assert python_files("aai_cli", "services") and python_files("aai_cli", "commands")


def test_services_import_no_ui_commands_or_api() -> None:
    forbidden = (*UI_LIBRARIES, "aai_cli.commands", "aai_cli.main", "api")
    assert violations(python_files("aai_cli", "services"), forbidden) == []


def test_models_db_settings_errors_import_no_upper_layer() -> None:
    lower = [
        *python_files("aai_cli", "models"),
        *[ROOT / "aai_cli" / f"{name}.py" for name in ("db", "settings", "errors")],
    ]
    forbidden = (*UI_LIBRARIES, "aai_cli.commands", "aai_cli.services", "aai_cli.main", "api")
    assert violations(lower, forbidden) == []


def test_only_main_imports_commands() -> None:
    outside = [
        path
        for path in python_files("aai_cli") + python_files("api")
        if "commands" not in path.relative_to(ROOT).parts and path.name != "main.py"
    ]
    assert violations(outside, ("aai_cli.commands", "aai_cli.main")) == []


def test_api_imports_no_cli() -> None:
    assert violations(python_files("api"), ("aai_cli.commands", "typer", "click")) == []


def test_nobody_imports_click() -> None:
    files = python_files("aai_cli") + python_files("api") + python_files("tests")
    assert violations(files, ("click",)) == []


@pytest.mark.parametrize("path", python_files("aai_cli", "commands"), ids=lambda p: p.name)
def test_command_modules_import_only_light_modules_at_top_level(path: Path) -> None:
    heavy = [
        f"{path.name}:{line} imports {module} at top level"
        for line, module in imports(path, top_level_only=True)
        if not matches(module, LIGHT_TOP_LEVEL)
        and module.split(".")[0] not in sys.stdlib_module_names
    ]
    assert heavy == []
