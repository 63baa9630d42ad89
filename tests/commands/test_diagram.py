"""`aai diagram`: the committed diagram is current, the text source is deterministic."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from aai_cli.models import metadata
from aai_cli.services.schema import diagram
from tests.cli import aai

REPO_DIAGRAMS = Path(__file__).resolve().parents[2] / "diagrams"


def test_committed_diagram_is_current() -> None:
    result = aai("diagram", "--check")
    assert result.exit_code == 0, result.stderr
    assert diagram.default_output_dir() == REPO_DIAGRAMS
    assert (REPO_DIAGRAMS / "db_diagram.svg").stat().st_size > 0


def test_dot_source_is_identical_across_processes() -> None:
    """Set iteration order changes with the hash seed: two processes must agree."""
    code = (
        "import sys; from aai_cli.services.schema.diagram import dot_source; "
        "sys.stdout.write(dot_source())"
    )
    # this process runs with a random hash seed; the child with a fixed, different one
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
    ).stdout
    assert other == diagram.dot_source()


def test_dot_source_is_sorted() -> None:
    source = diagram.dot_source()
    tables = [line.split('"')[1] for line in source.splitlines() if "[label=<" in line]
    assert tables == sorted(metadata.tables)
    relations = [line for line in source.splitlines() if " -- " in line]
    assert relations == sorted(relations) and len(relations) == len(set(relations))


def test_writes_both_files_byte_identically(tmp_path: Path) -> None:
    first = aai("diagram", "--output-dir", str(tmp_path / "a"))
    assert first.exit_code == 0, first.stderr
    assert first.stdout == ""
    aai("diagram", "--output-dir", str(tmp_path / "b"))
    dot_a = (tmp_path / "a" / "db_diagram.dot").read_bytes()
    assert dot_a == (tmp_path / "b" / "db_diagram.dot").read_bytes()
    assert dot_a == (REPO_DIAGRAMS / "db_diagram.dot").read_bytes()
    svg = (tmp_path / "a" / "db_diagram.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "platform_memberships" in svg


@pytest.fixture
def stale_copy(tmp_path: Path) -> Path:
    shutil.copytree(REPO_DIAGRAMS, tmp_path / "diagrams")
    return tmp_path / "diagrams"


def test_check_names_a_new_table(stale_copy: Path) -> None:
    table = sa.Table("widgets", metadata, sa.Column("id", sa.Integer, primary_key=True))
    try:
        result = aai("diagram", "--check", "--output-dir", str(stale_copy))
    finally:
        metadata.remove(table)
    assert result.exit_code == 3
    assert "tables missing from the diagram: widgets" in result.stderr
    assert "aai diagram" in result.stderr


def test_check_names_a_changed_table_and_relations(stale_copy: Path) -> None:
    dot = stale_copy / "db_diagram.dot"
    lines = dot.read_text().splitlines()
    edited = [
        line.replace("<FONT>email</FONT>", "<FONT>mail</FONT>") if '"users" [' in line else line
        for line in lines
        if not line.startswith('"groups" -- "group_platforms"')
    ]
    dot.write_text("\n".join(edited) + "\n")
    result = aai("diagram", "--check", "--output-dir", str(stale_copy))
    assert result.exit_code == 3
    assert "tables changed: users" in result.stderr
    assert "relations changed" in result.stderr


def test_check_on_missing_files(tmp_path: Path) -> None:
    result = aai("diagram", "--check", "--output-dir", str(tmp_path))
    assert result.exit_code == 3
    assert "db_diagram.dot is missing" in result.stderr
