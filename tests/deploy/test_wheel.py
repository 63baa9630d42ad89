"""The image's install path: build the wheel, install it into a fresh virtual environment,
run `aai` from an empty directory. Slow (a minute or so): one test, marked `slow`.

The Dockerfile installs with pip; here uv installs the same wheel (same metadata, same
pins from constraints.txt) because it is much faster and always present where the tests run.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import create_postgres_database, drop_postgres_database, postgres_admin_url
from tests.deploy.conftest import ROOT

PACKAGES = ("aai_cli", "api", "migrations")
SETTINGS_PREFIXES = ("DB_", "AUTH0_", "SMTP_", "SYNC_", "EMAIL_", "CORS_", "AAI_", "VIRTUAL_ENV")


def source_files() -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{args}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def build_wheel(out: Path) -> Path:
    uv = shutil.which("uv")
    assert uv, "uv builds the wheel (the project is managed with uv)"
    run([uv, "build", "--wheel", "--out-dir", str(out), str(ROOT)], ROOT, dict(os.environ))
    (wheel,) = out.glob("aai_backend-*.whl")
    return wheel


def fresh_venv(wheel: Path, where: Path) -> Path:
    run([sys.executable, "-m", "venv", "--without-pip", str(where)], where.parent, dict(os.environ))
    python = where / "bin" / "python"
    uv = shutil.which("uv")
    assert uv
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    constraints = str(ROOT / "constraints.txt")
    install = [uv, "pip", "install", "--quiet", "--python", str(python), "-c", constraints]
    run([*install, str(wheel)], where, env)
    return where / "bin"


def clean_env(bin_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    return {**env, **extra}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_wheel_installs_and_migrates_from_an_empty_directory(tmp_path):
    expected = source_files()
    wheel = build_wheel(tmp_path / "dist")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert expected - shipped == set(), "package files missing from the wheel"
    assert {"migrations/env.py", "migrations/script.py.mako"} <= shipped
    assert any(n.startswith("migrations/versions/") and n.endswith(".py") for n in shipped)
    assert any(n.startswith("aai_cli/templates/") for n in shipped), "email templates"

    bin_dir = fresh_venv(wheel, tmp_path / "venv")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = clean_env(bin_dir)

    version = run(["aai", "--version"], empty, env).stdout.strip()
    assert version == f"aai {wheel.name.split('-')[1]}"
    where = run(
        ["python", "-c", "import migrations, aai_cli; print(migrations.__file__)"], empty, env
    )
    assert str(tmp_path / "venv") in where.stdout, "imported from the venv, not the checkout"

    run(["aai", "db", "upgrade"], empty, env)
    with sqlite3.connect(empty / "database.db") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master")}
        (revision,) = db.execute("select version_num from alembic_version").fetchone()
    assert {"users", "platforms", "platform_memberships", "alembic_version"} <= tables
    assert revision in "".join(n for n in shipped if n.startswith("migrations/versions/"))

    if postgres_admin_url():  # the driver the image ships (psycopg binary) works too
        url = create_postgres_database()
        try:
            run(["aai", "db", "upgrade"], empty, clean_env(bin_dir, DB_URL=url))
            engine = create_engine(url)
            with engine.connect() as connection:
                pg_revision = connection.execute(text("select version_num from alembic_version"))
                assert pg_revision.scalar_one() == revision
            engine.dispose()
        finally:
            drop_postgres_database(url)
