"""deploy/Dockerfile and .dockerignore, read as Docker would (no Docker engine here)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tomllib

from aai_infra import commands

from tests.deploy.conftest import DEPLOY, ROOT
from tests.deploy.parsing import dockerfile

STAGES = dockerfile(DEPLOY / "Dockerfile")


def _final(keyword: str) -> list[str]:
    return [i.argument for i in STAGES[-1] if i.keyword == keyword]


def test_multi_stage_runtime_copies_only_the_built_environment():
    assert len(STAGES) >= 2
    build_name = STAGES[0][0].argument.split()[-1]
    assert STAGES[0][0].argument.split()[-2].upper() == "AS"
    copies = _final("COPY")
    assert copies and all(c.startswith(f"--from={build_name} ") for c in copies)
    assert not any("pip install" in run for run in _final("RUN")), "no installs at run stage"
    base = {stage[0].argument.split()[0] for stage in STAGES}
    assert base == {"${PYTHON_IMAGE}"}
    arg = next(line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if "ARG" in line)
    assert "slim" in arg


def test_dependencies_come_from_the_project_metadata_before_the_code():
    build = STAGES[0]
    copies = [n for n, i in enumerate(build) if i.keyword == "COPY"]
    metadata, *code = (
        next(n for n in copies if name in build[n].argument)
        for name in ("pyproject.toml", "aai_cli", "api", "migrations")
    )
    deps = next(n for n, i in enumerate(build) if "pip install -r" in i.argument)
    assert metadata < deps < min(code), "the dependency layer does not depend on the code"
    runs = " ".join(i.argument for i in build if i.keyword == "RUN")
    assert "pip wheel --no-deps" in runs and "pip install /tmp/dist/" in runs


def test_the_dependency_list_is_what_pyproject_declares(tmp_path):
    """Run the Dockerfile's own `python -c` snippet against the repository's pyproject.toml."""
    run = next(i.argument for i in STAGES[0] if "pip install -r" in i.argument)
    tokens = shlex.split(run)
    snippet = tokens[tokens.index("-c") + 1]
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert result.stdout.splitlines() == declared
    assert any(line.startswith("psycopg[binary]") for line in declared)


def test_runs_as_a_non_root_user():
    users = _final("USER")
    assert users, "the runtime stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_aai_is_the_entrypoint_and_serve_the_default_command():
    (entrypoint,) = _final("ENTRYPOINT")
    assert STAGES[-1][-1].keyword in {"CMD", "ENTRYPOINT"}
    final = {i.keyword: i for i in STAGES[-1]}
    assert final["ENTRYPOINT"].exec_form() == ["aai"], entrypoint
    cmd = final["CMD"].exec_form()
    assert cmd is not None and cmd[:3] == ["serve", "--host", "0.0.0.0"]
    assert cmd[cmd.index("--port") + 1] == str(commands.API_PORT)
    assert _final("EXPOSE") == [str(commands.API_PORT)]


def test_healthcheck_probes_healthz_on_the_api_port():
    (healthcheck,) = _final("HEALTHCHECK")
    assert " CMD " in f" {healthcheck} "
    assert f"127.0.0.1:{commands.API_PORT}/healthz" in healthcheck
    assert "curl" not in healthcheck and "wget" not in healthcheck  # not in a slim image


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context():
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "**", "allow-list: everything is excluded first"
    included = {line[1:] for line in lines if line.startswith("!")}
    copied = {
        i.argument.split()[0]
        for i in STAGES[0]
        if i.keyword == "COPY" and "--from" not in i.argument
    }
    assert copied <= included
    assert {"**/.env", "**/*.db"} <= set(lines)
