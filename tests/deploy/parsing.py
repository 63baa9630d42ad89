"""Read the deployment files the way Docker, compose and a shell would (enough for tests)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

OPERATORS = {"&&", "||", ";", "|", "&"}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    argument: str

    def exec_form(self) -> list[str] | None:
        """The JSON-array form of CMD/ENTRYPOINT/RUN, or None for the shell form."""
        text = self.argument.strip()
        return json.loads(text) if text.startswith("[") else None


def dockerfile(path: Path) -> list[list[Instruction]]:
    """Instructions grouped by stage (each list starts with its FROM)."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[list[Instruction]] = []
    for line in logical:
        keyword, _, argument = line.partition(" ")
        instruction = Instruction(keyword.upper(), argument.strip())
        if instruction.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def compose(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def shell_invocations(script: str, program: str = "aai") -> list[list[str]]:
    """Each simple command of a shell script that runs `aai`, as its argument list."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    found: list[list[str]] = []
    words: list[str] = []
    for token in [*lexer, ";"]:
        if token not in OPERATORS:
            words.append(token)
            continue
        while words and "=" in words[0] and not words[0].startswith("-"):
            words.pop(0)  # VAR=value prefixes
        if words and Path(words[0]).name == program:
            found.append(words[1:])
        words = []
    return found


def image_services(spec: dict) -> dict[str, dict]:
    """The compose services built from deploy/Dockerfile (the `aai` image)."""
    return {
        name: service
        for name, service in spec["services"].items()
        if (service.get("build") or {}).get("dockerfile") == "deploy/Dockerfile"
    }


def container_invocations(entrypoint: list[str] | None, command: list[str]) -> list[list[str]]:
    """`aai` argument lists run by a container of the image (entrypoint `aai` by default)."""
    if not entrypoint or entrypoint == ["aai"]:
        return [list(command)]
    if entrypoint[-1] == "-c":
        return [args for script in command for args in shell_invocations(script)]
    raise AssertionError(f"unexpected entrypoint {entrypoint}")


def deploy_invocations(deploy: Path) -> list[tuple[str, list[str]]]:
    """Every `aai ...` the deployment runs: (where, arguments after `aai`)."""
    found: list[tuple[str, list[str]]] = []
    stages = dockerfile(deploy / "Dockerfile")
    for stage in stages:
        for instruction in stage:
            if instruction.keyword == "RUN":
                found += [
                    ("Dockerfile RUN", args) for args in shell_invocations(instruction.argument)
                ]
    final = {i.keyword: i for i in stages[-1]}
    found.append(
        (
            "Dockerfile CMD",
            container_invocations(final["ENTRYPOINT"].exec_form(), final["CMD"].exec_form())[0],
        )
    )
    spec = compose(deploy / "compose.yaml")
    for name, service in image_services(spec).items():
        command = service.get("command", [])
        for args in container_invocations(service.get("entrypoint"), command):
            found.append((f"compose {name}", args))
    from aai_infra import commands

    found.append(("aws api", commands.api_command(2)))
    found.append(("aws scheduler", commands.SCHEDULER_COMMAND))
    for args in shell_invocations(commands.MIGRATE_SCRIPT):
        found.append(("aws migrate", args))
    return found
