"""The documentation holds together: every relative link in README.md and docs/ reaches a
file (and, with `#anchor`, a heading of that file, by GitHub's slug rules), every setting
is documented, and no file in the repository points at documents outside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])

# Inline links `[text](target)`; images too. Code spans are removed first.
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"`[^`\n]*`")
FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")

# Generated or installed, never written by hand (tool caches end in `_cache`).
SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "cdk.out", "__pycache__"}
SKIPPED_DIRS |= {"dist", "build", "htmlcov"}
# Spelled in pieces so that this file does not name them itself.
OUTSIDE_DOCUMENTS = [
    re.compile(re.escape(".." + "/shared")),
    re.compile(r"(?<![\w.-])" + "shared" + "/"),
    re.compile(r"\b" + "PORTAL" + r"\.md\b"),
    re.compile(r"\b" + "DESIGN" + r"\.md\b"),
    re.compile(r"\b" + "AUTH0" + r"\.md\b"),
]


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, with inline code spans removed."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(CODE_SPAN.sub("", line))
    return lines


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercased, markup and punctuation other than
    hyphens and underscores dropped, each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").replace("*", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file; repeated headings get -1, -2..."""
    seen: dict[str, int] = {}
    result = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            slug = github_slug(match.group(2))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def relative_links(path: Path) -> list[str]:
    text = "\n".join(prose_lines(path.read_text(encoding="utf-8")))
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE)
    ]


def link_problem(source: Path, target: str) -> str | None:
    """Why `target` (a link written in `source`) does not resolve, or None."""
    file_part, _, anchor = target.partition("#")
    destination = (source.parent / file_part).resolve() if file_part else source
    if not destination.is_relative_to(ROOT):
        return f"{target}: leaves the repository"
    if not destination.exists():
        return f"{target}: no such file"
    if anchor and destination.suffix == ".md" and anchor not in anchors(destination):
        return f"{target}: no heading #{anchor} in {destination.relative_to(ROOT)}"
    return None


def _skipped(directory: str) -> bool:
    return directory in SKIPPED_DIRS or directory.endswith((".egg-info", "_cache"))


def repository_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if any(_skipped(part) for part in relative.parts[:-1]):
            continue
        if path.is_file() and path.name != "uv.lock" and path.suffix not in {".db", ".svg"}:
            files.append(path)
    return files


def test_the_docs_exist() -> None:
    expected = {
        "README.md",
        "api.md",
        "architecture.md",
        "auth0.md",
        "benchmarks.md",
        "configuration.md",
        "development.md",
        "directory.md",
        "operations.md",
        "sync.md",
    }
    assert expected <= {path.name for path in (ROOT / "docs").glob("*.md")}


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path) -> None:
    problems = [p for p in (link_problem(doc, t) for t in relative_links(doc)) if p]
    assert problems == []


def test_the_front_page_links_into_every_doc() -> None:
    linked = {target.partition("#")[0] for target in relative_links(ROOT / "README.md")}
    pages = {f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md")}
    assert pages - {"docs/README.md"} <= linked


def test_no_file_refers_to_documents_outside_the_repository() -> None:
    found = []
    for path in repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if any(pattern.search(line) for pattern in OUTSIDE_DOCUMENTS):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_every_setting_is_documented() -> None:
    from aai_cli.settings import Settings

    documented = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [
        name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in documented
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Database: `aai db`", "database-aai-db"),
        (
            "The portal API (`tests/bench/test_bench_api.py`)",
            "the-portal-api-testsbenchtest_bench_apipy",
        ),
        ("Errors and exit codes", "errors-and-exit-codes"),
        ("User routes: `/me`", "user-routes-me"),
        ("The directory's derived columns", "the-directorys-derived-columns"),
    ],
)
def test_headings_slug_as_github_does(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_a_broken_link_is_reported() -> None:
    assert link_problem(ROOT / "README.md", "docs/nowhere.md") == "docs/nowhere.md: no such file"
    assert link_problem(ROOT / "README.md", "docs/api.md#nowhere") == (
        "docs/api.md#nowhere: no heading #nowhere in docs/api.md"
    )
    assert (
        link_problem(ROOT / "README.md", "../outside.md") == "../outside.md: leaves the repository"
    )
