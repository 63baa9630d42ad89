"""`aai db` through the real CLI: exit codes, stdout vs stderr, --json shapes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from aai_cli import db
from aai_cli.models import metadata
from aai_cli.services.schema import migrations
from tests.cli import aai
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.processes import spawn_aai

CLOSED_PORT_URL = "postgresql://aai:hunter2-secret@127.0.0.1:1/aai"


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def count(url: str, table: str) -> int:
    with db.get_engine(url).connect() as connection:
        query = sa.select(sa.func.count()).select_from(metadata.tables[table])
        return connection.execute(query).scalar_one()


@pytest.fixture
def migrated_url(empty_db_url: str) -> str:
    migrations.upgrade(empty_db_url)
    return empty_db_url


def test_upgrade_on_the_default_sqlite_migrates_and_seeds() -> None:
    result = aai("db", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "upgraded base ->" in result.stderr
    assert "catalog seeded: 5 created" in result.stderr
    url = "sqlite:///database.db"
    assert Path("database.db").is_file()
    assert count(url, "platforms") == 3 and count(url, "groups") == 2

    again = aai("db", "upgrade")
    assert again.exit_code == 0
    assert "nothing to do" in again.stderr
    assert "0 created, 0 updated, 5 unchanged" in again.stderr
    assert aai("db", "check").exit_code == 0


def test_upgrade_on_a_configured_database_does_not_seed(empty_db_url: str) -> None:
    result = aai("db", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert "seeded" not in result.stderr
    assert count(empty_db_url, "platforms") == 0


def test_current_json_and_text(empty_db_url: str) -> None:
    before = aai("db", "current", "--json")
    assert before.exit_code == 0 and before.stderr == ""
    data = json.loads(before.stdout)
    assert data == {
        "database": data["database"],
        "current": [],
        "heads": migrations.heads(),
        "at_head": False,
    }
    assert aai("db", "upgrade").exit_code == 0
    after = json.loads(aai("db", "current", "--json").stdout)
    assert after["current"] == migrations.heads() and after["at_head"] is True
    text = aai("db", "current")
    assert text.stdout.strip() == f"{migrations.heads()[0]} (at head)"


def test_history_json() -> None:
    result = aai("db", "history", "--json")
    assert result.exit_code == 0
    revisions = json.loads(result.stdout)
    assert [r["revision"] for r in revisions if r["is_head"]] == migrations.heads()
    assert set(revisions[0]) == {"revision", "down_revision", "message", "is_head", "file"}
    assert revisions[-1]["down_revision"] is None
    assert migrations.heads()[0] in aai("db", "history").stdout


@pytest.fixture
def widgets_model():  # type: ignore[no-untyped-def]
    table = sa.Table("widgets", metadata, sa.Column("id", sa.Integer, primary_key=True))
    yield table
    metadata.remove(table)


def test_check_exit_codes(empty_db_url: str, request: pytest.FixtureRequest) -> None:
    behind = aai("db", "check")
    assert behind.exit_code == 3
    assert "aai db upgrade" in one_line(behind.stderr)
    assert aai("db", "upgrade").exit_code == 0
    clean = aai("db", "check")
    assert clean.exit_code == 0, clean.stderr
    request.getfixturevalue("widgets_model")
    drift = aai("db", "check")
    assert drift.exit_code == 3
    assert "add table widgets" in one_line(drift.stderr)


def test_downgrade_asks_and_never_prompts_without_a_terminal(migrated_url: str) -> None:
    refused = aai("db", "downgrade", "base")
    assert refused.exit_code == 2
    assert "--yes" in one_line(refused.stderr)
    assert "users" in sa.inspect(db.get_engine(migrated_url)).get_table_names()

    done = aai("db", "downgrade", "base", "--yes")
    assert done.exit_code == 0, done.stderr
    assert "downgraded" in done.stderr
    db.dispose_engines()
    assert "users" not in sa.inspect(db.get_engine(migrated_url)).get_table_names()


def test_unknown_revision_exit_4(tmp_path: Path, settings_env) -> None:
    settings_env(DB_URL=f"sqlite:///{tmp_path / 'x.db'}")
    result = aai("db", "upgrade", "nope")
    assert result.exit_code == 4
    assert "nope" in one_line(result.stderr)


def test_upgrade_sql_prints_sql_to_stdout() -> None:
    result = aai("db", "upgrade", "--sql")
    assert result.exit_code == 0
    assert "CREATE TABLE platform_memberships" in result.stdout
    assert not Path("database.db").exists()


def test_ping_json(empty_db_url: str, settings_env) -> None:
    if not empty_db_url.startswith("sqlite"):  # trust auth: a password is accepted and ignored
        with_password = make_url(empty_db_url).set(password="hunter2-secret")
        settings_env(DB_URL=with_password.render_as_string(hide_password=False))
    result = aai("db", "ping", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"ok", "backend", "database", "server_version", "connect_ms", "rtt_ms"}
    assert data["ok"] is True
    assert data["backend"] == ("sqlite" if empty_db_url.startswith("sqlite") else "postgresql")
    assert data["rtt_ms"] >= 0
    assert "hunter2" not in result.stdout
    assert "ok:" in aai("db", "ping").stdout


def test_ping_and_wait_on_a_down_database_exit_5_without_the_secret(
    settings_env,
) -> None:
    settings_env(DB_URL=CLOSED_PORT_URL)
    ping = aai("db", "ping", "--json")
    assert ping.exit_code == 5
    assert ping.stdout == ""
    assert "connection refused" in one_line(ping.stderr)
    waited = aai("db", "wait", "--timeout", "0.5")
    assert waited.exit_code == 5
    assert "did not answer within 0.5 s" in waited.stderr.strip().splitlines()[-1]
    assert "attempt 1" in waited.stderr  # progress lines on stderr while retrying
    for output in (ping.stdout, ping.stderr, waited.stdout, waited.stderr):
        assert "hunter2" not in output


def test_wait_returns_once_the_database_answers(empty_db_url: str) -> None:
    result = aai("db", "wait", "--timeout", "5", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["ok"] is True


def test_seed_is_idempotent(migrated_url: str) -> None:
    first = aai("db", "seed", "--json")
    assert first.exit_code == 0, first.stderr
    report = json.loads(first.stdout)
    assert {"platform galaxy", "group biocommons/group/tsi"} <= set(report["created"])
    second = json.loads(aai("db", "seed", "--json").stdout)
    assert second["created"] == [] and second["updated"] == [] and len(second["unchanged"]) == 5
    assert count(migrated_url, "platforms") == 3


def test_seed_from_a_yaml_file(migrated_url: str, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "platforms:\n"
        "  - id: galaxy\n    name: Galaxy (test)\n    admin_roles: [biocommons/role/galaxy/admin]\n"
        "groups: []\n"
    )
    result = aai("db", "seed", "--file", str(catalog), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["created"] == ["platform galaxy"]
    with db.get_engine(migrated_url).connect() as connection:
        name = connection.exec_driver_sql("SELECT name FROM platforms").scalar_one()
    assert name == "Galaxy (test)"


def test_seed_retires_a_group_the_catalog_no_longer_lists(
    migrated_url: str, tmp_path: Path
) -> None:
    old = tmp_path / "old.json"
    old.write_text(
        json.dumps(
            {
                "platforms": [],
                "groups": [
                    {"id": "biocommons/group/bpa_galaxy", "name": "BPA-GA", "short_name": "BPA-GA"}
                ],
            }
        )
    )
    assert aai("db", "seed", "--file", str(old)).exit_code == 0
    result = aai("db", "seed")
    assert result.exit_code == 0, result.stderr
    assert "5 created, 0 updated, 0 unchanged, 1 retired (no longer offered)" in result.stderr
    report = json.loads(aai("db", "seed", "--json").stdout)
    assert report["retired"] == [] and len(report["unchanged"]) == 5
    assert count(migrated_url, "groups") == 3  # kept, only marked


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"platforms": [', "not valid json"),
        ('{"platforms": [{"id": "Bad Id", "name": "x"}]}', "platforms.0.id"),
        (
            '{"groups": [{"id": "biocommons/group/x", "name": "X", "short_name": "X",'
            ' "platforms": ["nowhere"]}]}',
            "unknown platforms: nowhere",
        ),
    ],
)
def test_seed_rejects_a_malformed_file_and_changes_nothing(
    migrated_url: str, tmp_path: Path, content: str, message: str
) -> None:
    assert aai("db", "seed").exit_code == 0
    bad = tmp_path / "catalog.json"
    bad.write_text(content)
    result = aai("db", "seed", "--file", str(bad))
    assert result.exit_code == 2
    assert message in one_line(result.stderr)
    assert count(migrated_url, "platforms") == 3 and count(migrated_url, "groups") == 2


def test_seed_on_an_unmigrated_database_exit_3(empty_db_url: str) -> None:
    result = aai("db", "seed")
    assert result.exit_code == 3
    assert "aai db upgrade" in one_line(result.stderr)


def test_revision_writes_a_file_and_prints_its_path(tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(migrations.migrations_dir(), directory)
    result = aai("db", "revision", "-m", "add a thing", "--migrations-dir", str(directory))
    assert result.exit_code == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.parent == directory / "versions" and path.name.endswith("_add_a_thing.py")
    assert "def upgrade() -> None:" in path.read_text()
    nothing = aai("db", "revision", "-m", "x", "--autogenerate", "--migrations-dir", str(directory))
    assert nothing.exit_code == 0 and nothing.stdout == ""
    assert "nothing written" in nothing.stderr


def _make_read_only(directory: Path) -> bool:
    directory.chmod(0o555)
    if os.geteuid() == 0:  # root ignores permissions: the immutable attribute still holds
        subprocess.run(["chattr", "+i", str(directory)], check=False, capture_output=True)
    probe = directory / "probe"
    try:
        probe.touch()
    except OSError:
        return True
    probe.unlink()
    return False


def test_read_only_directory_exit_5(tmp_path: Path, settings_env) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    if not _make_read_only(directory):
        pytest.skip("cannot make a read-only directory here")
    try:
        settings_env(DB_URL=f"sqlite:///{directory / 'aai.db'}")
        result = aai("db", "upgrade")
        assert result.exit_code == 5
        assert str(directory) in one_line(result.stderr)
        assert list(directory.iterdir()) == []
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=False, capture_output=True)
        directory.chmod(0o755)


def test_two_concurrent_upgrades_on_postgres() -> None:
    url = create_postgres_database()
    try:
        processes = [spawn_aai("db", "upgrade", env={"DB_URL": url}) for _ in range(2)]
        outputs = [p.communicate(timeout=120) for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs
        stderr = [err for _, err in outputs]
        assert sum("upgraded base ->" in err for err in stderr) == 1, stderr
        assert sum("nothing to do" in err for err in stderr) == 1, stderr
        assert migrations.current(url).at_head
    finally:
        db.dispose_engines()
        drop_postgres_database(url)
