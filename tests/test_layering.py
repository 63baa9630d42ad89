"""The import direction of docs/architecture.md, checked on the source:

commands -> services -> models/db/settings/errors, api -> services; services import neither
typer/rich nor fastapi (nor commands/api); nothing imports commands except main (and the
command modules themselves); api never imports commands; nobody imports click; command
modules import only typer and light modules at top level; service packages depend on each
other without a cycle; no module imports in the middle of a file; no command module imports
another for a helper; the product imports no test code; the local Auth0 (aai_cli/localauth0)
imports nothing of the application, and only the commands import it and the demo.
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
        *[ROOT / "aai_cli" / f"{name}.py" for name in ("db", "settings", "errors", "files")],
    ]
    forbidden = (*UI_LIBRARIES, "aai_cli.commands", "aai_cli.services", "aai_cli.main", "api")
    assert violations(lower, forbidden) == []


def test_the_product_imports_no_test_code() -> None:
    files = python_files("aai_cli") + python_files("api") + python_files("migrations")
    assert violations(files, ("tests",)) == []


def test_the_local_auth0_imports_nothing_of_the_application() -> None:
    """The stand-in is where Auth0 stands: it knows no settings, models or services."""
    forbidden = ("aai_cli", "api", *UI_LIBRARIES)
    found = [
        v
        for v in violations(python_files("aai_cli", "localauth0"), forbidden)
        if not v.endswith(("imports aai_cli.localauth0",)) and " aai_cli.localauth0." not in v
    ]
    assert found == []


def test_only_the_commands_import_the_demo() -> None:
    """The demo sits beside the commands (it uses the services and the local Auth0): the
    services, the models and the API never import it, nor the local Auth0."""
    outside = [
        path
        for path in python_files("aai_cli") + python_files("api")
        if not {"commands", "demo", "localauth0"} & set(path.relative_to(ROOT).parts)
    ]
    assert violations(outside, ("aai_cli.demo", "aai_cli.localauth0")) == []
    forbidden = (*UI_LIBRARIES, "aai_cli.commands", "aai_cli.main", "api")
    assert violations(python_files("aai_cli", "demo"), forbidden) == []


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


# Which service package may import which (docs/architecture.md, "Services by noun").
# Shared single modules (bulk, leases, followups, recaptcha, upstream) sit beside the
# packages.
SERVICE_DEPENDENCIES = {
    "auth0": {"bulk"},
    "schema": set(),
    "email": {"auth0", "leases"},
    "directory": set(),
    "access": {"auth0", "directory", "email", "leases", "schema", "upstream"},
    "sync": {"access", "auth0", "bulk"},
    "accounts": {"access", "auth0", "directory", "email"},
    "actions": {"access", "auth0", "email"},
    "scheduler": {"accounts", "actions", "access", "auth0", "email", "ratelimits", "sync"},
    "followups": {"access", "auth0", "email"},
    "bulk": set(),
    "leases": set(),
    "ratelimits": set(),
    "recaptcha": {"upstream"},
    "upstream": set(),
}


def service_unit(path: Path) -> str:
    """The package (or single module) of aai_cli/services a file belongs to."""
    parts = path.relative_to(ROOT / "aai_cli" / "services").parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def service_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in python_files("aai_cli", "services"):
        if path.name == "__init__.py" and path.parent.name == "services":
            continue
        unit = service_unit(path)
        for _, module in imports(path):
            parts = module.split(".")
            if parts[:2] == ["aai_cli", "services"] and len(parts) > 2 and parts[2] != unit:
                found.setdefault(unit, set()).add(parts[2])
    return found


def test_service_packages_import_only_the_packages_below_them() -> None:
    extra = {
        unit: sorted(targets - SERVICE_DEPENDENCIES.get(unit, set()))
        for unit, targets in service_imports().items()
        if targets - SERVICE_DEPENDENCIES.get(unit, set())
    }
    assert extra == {}


def test_the_service_dependencies_have_no_cycle() -> None:
    done: set[str] = set()

    def visit(unit: str, path: tuple[str, ...]) -> None:
        assert unit not in path, f"cycle: {' -> '.join((*path, unit))}"
        if unit in done:
            return
        for target in SERVICE_DEPENDENCIES[unit]:
            visit(target, (*path, unit))
        done.add(unit)

    for unit in SERVICE_DEPENDENCIES:
        visit(unit, ())
    assert done == set(SERVICE_DEPENDENCIES)


def statements_after_code(path: Path) -> list[int]:
    """Lines of module-level imports that come after the module's first definition."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    seen_code, late = False, []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            if seen_code:
                late.append(node.lineno)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        else:
            seen_code = True
    return late


def test_no_module_imports_in_the_middle_of_a_file() -> None:
    files = python_files("aai_cli") + python_files("api") + [ROOT / "migrations" / "env.py"]
    late = {
        str(path.relative_to(ROOT)): lines
        for path in files
        if (lines := statements_after_code(path))
    }
    assert late == {}


def test_a_command_module_imports_no_other_command_module() -> None:
    """Helpers two commands share belong in a service (or among the shared option types of
    `aai_cli/commands/__init__.py`); a command package's own modules may import each other."""
    commands_dir = ROOT / "aai_cli" / "commands"
    command_modules = {p.stem for p in commands_dir.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in commands_dir.iterdir() if (p / "__init__.py").exists()
    }
    wrong = []
    for path in python_files("aai_cli", "commands"):
        own = path.relative_to(commands_dir).parts[0].removesuffix(".py")
        for line, module in imports(path):
            parts = module.split(".")
            other = parts[2] if parts[:2] == ["aai_cli", "commands"] and len(parts) > 2 else own
            if other != own and other in command_modules:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert wrong == []
