"""The `aai` invocations the cloud deployment runs (plain Python: tests import it).

The image's entrypoint is `aai`, so a command is the argument list after it. The migration
task overrides the entrypoint with a shell to chain its three steps, as compose does.
"""

from __future__ import annotations

API_PORT = 8000
SHELL_ENTRYPOINT = ["/bin/sh", "-c"]
MIGRATE_SCRIPT = "aai db wait && aai db upgrade && aai db seed"
SCHEDULER_COMMAND = ["schedule"]


def api_command(workers: int) -> list[str]:
    """`aai serve` behind the load balancer: trust its X-Forwarded-* headers."""
    return [
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        str(API_PORT),
        "--workers",
        str(workers),
        "--proxy-headers",
    ]
