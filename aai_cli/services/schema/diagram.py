"""The ER diagram of the models: a sorted Graphviz text source and the SVG drawn from it.

eralchemy2 builds the pieces, but it reads columns from a set; here tables are sorted by
name, columns keep their declared order and relations are sorted and deduplicated, so the
`.dot` text is byte-identical from run to run. The SVG depends on fonts and the Graphviz
build, so `--check` compares only the text source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import MetaData

import aai_cli
from aai_cli.errors import CheckFailed, UsageError
from aai_cli.models import metadata as every_table

DOT_NAME = "db_diagram.dot"
SVG_NAME = "db_diagram.svg"
_TABLE_LINE = re.compile(r'^"(?P<name>[^"]+)" \[label=')


def default_output_dir() -> Path:
    """`diagrams/` of the source checkout this code runs from."""
    root = Path(aai_cli.__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file():
        raise UsageError(
            "not running from a source checkout: pass --output-dir to say where to write"
        )
    return root / "diagrams"


def dot_source(metadata: MetaData | None = None) -> str:
    """The Graphviz source of the ER diagram, identical for identical models."""
    from eralchemy2.main import _intermediary_to_dot
    from eralchemy2.models import Table
    from eralchemy2.sqla import column_to_intermediary, relation_to_intermediary

    if metadata is None:
        metadata = every_table

    tables = sorted(metadata.tables.values(), key=lambda t: t.fullname)
    nodes = [
        Table(name=t.fullname, columns=[column_to_intermediary(c) for c in t.columns])
        for t in tables
    ]
    relations = {
        relation.to_dot(): relation
        for table in tables
        for fk in table.foreign_keys
        for relation in [relation_to_intermediary(fk)]
    }
    edges = [relations[key] for key in sorted(relations)]
    text = _intermediary_to_dot(nodes, edges)
    return "\n".join(line.rstrip() for line in text.strip().splitlines()) + "\n"


@dataclass(frozen=True)
class DiagramFiles:
    dot: Path
    svg: Path


def write_diagram(output_dir: Path, metadata: MetaData | None = None) -> DiagramFiles:
    """Write the `.dot` source and the `.svg` drawn from it into `output_dir`."""
    from pygraphviz import AGraph

    source = dot_source(metadata)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        files = DiagramFiles(dot=output_dir / DOT_NAME, svg=output_dir / SVG_NAME)
        files.dot.write_text(source, encoding="utf-8")
        AGraph(string=source).draw(path=str(files.svg), prog="dot", format="svg")
    except OSError as exc:
        raise UsageError(f"cannot write the diagram into {output_dir}: {exc.strerror}") from None
    return files


def _blocks(source: str) -> tuple[dict[str, str], set[str]]:
    """Table name -> its line, and the set of relation lines."""
    tables: dict[str, str] = {}
    relations: set[str] = set()
    for line in source.splitlines():
        match = _TABLE_LINE.match(line.strip())
        if match:
            tables[match.group("name")] = line
        elif " -- " in line:
            relations.add(line.strip())
    return tables, relations


def stale_parts(committed: str, expected: str) -> list[str]:
    """What differs between two `.dot` sources, for the operator."""
    old_tables, old_relations = _blocks(committed)
    new_tables, new_relations = _blocks(expected)
    parts = []
    if added := sorted(new_tables.keys() - old_tables.keys()):
        parts.append("tables missing from the diagram: " + ", ".join(added))
    if removed := sorted(old_tables.keys() - new_tables.keys()):
        parts.append("tables no longer in the models: " + ", ".join(removed))
    shared = new_tables.keys() & old_tables.keys()
    if changed := sorted(n for n in shared if new_tables[n] != old_tables[n]):
        parts.append("tables changed: " + ", ".join(changed))
    if old_relations != new_relations:
        parts.append("relations changed")
    if not parts and committed != expected:
        parts.append("layout or formatting changed")
    return parts


def check_diagram(output_dir: Path, metadata: MetaData | None = None) -> None:
    """CheckFailed (exit 3) naming what is stale when the committed `.dot` differs."""
    dot = output_dir / DOT_NAME
    hint = "run `aai diagram` and commit diagrams/"
    if not dot.is_file():
        raise CheckFailed(f"{dot} is missing", hint=hint)
    if not (output_dir / SVG_NAME).is_file():
        raise CheckFailed(f"{output_dir / SVG_NAME} is missing", hint=hint)
    parts = stale_parts(dot.read_text(encoding="utf-8"), dot_source(metadata))
    if parts:
        raise CheckFailed(f"{dot} is stale: " + "; ".join(parts), hint=hint)
