"""The dependency pins agree with pyproject.toml, with each other and with what is installed.

constraints.txt pins the whole tree (pip and `uv pip` read it); pyproject's
`[tool.uv] constraint-dependencies` holds the same pins for `uv run`/`uv sync`, which read no
constraints file. scripts/pin-dependencies writes both; these tests fail when someone edits
pyproject.toml and forgets to run it. No network.
"""

from __future__ import annotations

import shlex
import tomllib
from collections import Counter
from importlib import metadata
from itertools import pairwise
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.deploy.parsing import dockerfile

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS_TEXT = (ROOT / "constraints.txt").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirement_lines(text: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def parse(lines: list[str]) -> list[Requirement]:
    return [Requirement(line) for line in lines]


def address_problems(text: str) -> list[str]:
    """Index options, links and direct references: anything that names where packages live."""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0].strip()
        if code.startswith("-"):
            problems.append(f"line {number}: option {code!r}")
        elif "://" in line or " @ " in code:
            problems.append(f"line {number}: address {line.strip()!r}")
    return problems


def inexact_pins(pins: list[Requirement]) -> list[str]:
    """Pins that are not one exact version of a plain package (pip refuses extras in -c)."""
    problems = []
    for pin in pins:
        operators = [(spec.operator, spec.version) for spec in pin.specifier]
        exact = len(operators) == 1 and operators[0][0] == "==" and "*" not in operators[0][1]
        if not exact or pin.extras or pin.url:
            problems.append(str(pin))
    return problems


def unmet_declarations(declared: list[str], pins: list[Requirement]) -> list[str]:
    """Declared dependencies with no pin, or a pin outside the declared range."""
    by_name: dict[str, list[Requirement]] = {}
    for pin in pins:
        by_name.setdefault(canonicalize_name(pin.name), []).append(pin)
    problems = []
    for line in declared:
        wanted = Requirement(line)
        found = by_name.get(canonicalize_name(wanted.name), [])
        if not found:
            problems.append(f"{wanted.name}: declared {wanted.specifier} but not pinned")
        for pin in found:
            version = next(iter(pin.specifier)).version
            if not wanted.specifier.contains(version, prereleases=True):
                problems.append(f"{wanted.name}: pinned {version}, declared {wanted.specifier}")
    return problems


def pin_here(pins: list[Requirement], name: str) -> Version | None:
    """The pinned version that applies on this interpreter and platform."""
    for pin in pins:
        if canonicalize_name(pin.name) == name and (pin.marker is None or pin.marker.evaluate()):
            return Version(next(iter(pin.specifier)).version)
    return None


def applies(requirement: Requirement, extras: frozenset[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in {"", *extras})


def installed_tree(project: str, extras: frozenset[str]) -> dict[str, Version]:
    """Every installed distribution the project needs here with these extras, by name."""
    found: dict[str, Version] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(canonicalize_name(project), extras)]
    while todo:
        name, wanted = todo.pop()
        if (name, wanted) in seen:
            continue
        seen.add((name, wanted))
        distribution = metadata.distribution(name)
        found[name] = Version(distribution.version)
        for requirement in parse(distribution.requires or []):
            if applies(requirement, wanted):
                todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    del found[canonicalize_name(project)]
    return found


PINS = parse(requirement_lines(CONSTRAINTS_TEXT))


def test_the_constraints_file_names_no_index_and_no_host():
    assert PINS, "constraints.txt pins something"
    assert address_problems(CONSTRAINTS_TEXT) == []
    assert [str(pin) for pin in PINS if pin.url] == []


def test_an_index_option_a_link_or_a_direct_reference_is_reported():
    text = (
        "# compiled for https://mirror.example/simple\n"
        "--index-url https://mirror.example/simple\n"
        "fastapi==0.115.0\n"
        "    # via aai-backend (pyproject.toml)\n"
        "-f /opt/wheels\n"
        "schedule @ file:///opt/wheels/schedule-1.2.2-py3-none-any.whl\n"
    )
    assert address_problems(text) == [
        "line 1: address '# compiled for https://mirror.example/simple'",
        "line 2: option '--index-url https://mirror.example/simple'",
        "line 5: option '-f /opt/wheels'",
        "line 6: address 'schedule @ file:///opt/wheels/schedule-1.2.2-py3-none-any.whl'",
    ]


def test_every_pin_is_one_exact_version():
    assert len(PINS) > 50, "the whole tree, not only the direct dependencies"
    assert inexact_pins(PINS) == []


def test_a_range_a_wildcard_or_an_extra_is_not_a_pin():
    pins = parse(["rich>=13", "typer==0.16.*", "psycopg[binary]==3.2.1", "jinja2==3.1.6"])
    assert inexact_pins(pins) == ["rich>=13", "typer==0.16.*", "psycopg[binary]==3.2.1"]


def test_every_declared_dependency_and_extra_is_pinned_inside_its_range():
    project = PYPROJECT["project"]
    groups = {"dependencies": project["dependencies"], **project["optional-dependencies"]}
    assert {"dependencies", "dev", "deploy"} <= set(groups)
    problems = {name: unmet_declarations(declared, PINS) for name, declared in groups.items()}
    assert {name: found for name, found in problems.items() if found} == {}, (
        "run scripts/pin-dependencies"
    )


def test_a_missing_pin_or_one_outside_the_declared_range_is_reported():
    declared = ["fastapi>=0.115", "uvicorn[standard]>=0.31", "Rich>=13", "auth0-python>=5,<7"]
    pins = parse(["fastapi==0.110.0", "rich==13.7.1", "auth0_python==7.0.0"])
    assert unmet_declarations(declared, pins) == [
        "fastapi: pinned 0.110.0, declared >=0.115",
        "uvicorn: declared >=0.31 but not pinned",
        "auth0-python: pinned 7.0.0, declared <7,>=5",
    ]


def test_pyproject_carries_the_same_pins_as_the_constraints_file():
    in_pyproject = Counter(map(str, parse(PYPROJECT["tool"]["uv"]["constraint-dependencies"])))
    in_file = Counter(map(str, PINS))
    assert (in_file - in_pyproject, in_pyproject - in_file) == (Counter(), Counter()), (
        "(only in constraints.txt, only in pyproject.toml): run scripts/pin-dependencies"
    )


def test_the_environment_running_the_tests_is_the_pinned_one():
    """What `uv run --extra dev` installed: every package of the tree, at its pin."""
    tree = installed_tree("aai-backend", frozenset({"dev"}))
    assert {"fastapi", "sqlalchemy", "psycopg-binary", "pytest", "starlette"} <= set(tree)
    pinned = {name: pin_here(PINS, name) for name in tree}
    wrong = {
        name: (str(tree[name]), str(pinned[name])) for name in tree if tree[name] != pinned[name]
    }
    assert wrong == {}, "(installed, pinned): sync with `uv sync --extra dev`"


def test_every_pip_install_of_the_image_is_held_to_the_pins():
    build = dockerfile(ROOT / "deploy" / "Dockerfile")[0]
    runs = [i.argument for i in build if i.keyword == "RUN"]
    commands = [c for run in runs for c in run.split("&&") if "pip install" in c]
    assert len(commands) == 2, "the dependency layer, then the wheel"
    for command in commands:
        words = shlex.split(command)
        assert ("-c", "constraints.txt") in pairwise(words), command
    first_install = next(n for n, i in enumerate(build) if "pip install" in i.argument)
    copied = [i.argument.split() for i in build[:first_install] if i.keyword == "COPY"]
    assert any("constraints.txt" in words[:-1] for words in copied), "copied before installing"
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "!constraints.txt" in ignore, "in the build context"


def test_uv_lock_stays_out_of_the_repository():
    """uv.lock records the download address of every file, so it is never committed."""
    assert "uv.lock" in (ROOT / ".gitignore").read_text().splitlines()
