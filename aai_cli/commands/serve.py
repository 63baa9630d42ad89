"""`aai serve`: the portal API under uvicorn (`api.app:create_app`, factory).

On the embedded SQLite default the database is migrated and seeded first, so a fresh
checkout just works; any other database must already be at head (exit 3 otherwise:
run `aai db upgrade`). With metrics on, the workers share a directory of metric files
made for this server (`metrics_directory`), so that `/metrics` reports the whole server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from aai_cli.settings import Settings

ACCESS_LOGGER = "aai.access"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client in every worker


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
    reload: Annotated[
        bool, typer.Option("--reload", help="Restart on code changes (development).")
    ] = False,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            "--proxy-headers",
            help="Take the client address from X-Forwarded-For: its right-most entry that is "
            "not a trusted proxy (FORWARDED_ALLOW_IPS: addresses or CIDR ranges).",
        ),
    ] = False,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Try everything offline: a local Auth0 on --port + 1, demo.db made afresh "
            "with demo people, their tokens printed (docs/demo.md).",
        ),
    ] = False,
) -> None:
    """Serve the portal API (health at /healthz, readiness at /readyz, docs at /docs)."""
    from aai_cli.errors import UsageError
    from aai_cli.settings import get_settings

    if reload and workers > 1:
        raise UsageError("--reload runs a single process: drop --workers")
    if demo:
        from aai_cli.demo.run import start

        start(host=host, port=port)
    settings = get_settings()
    settings.check_start_up()  # CORS '*', production's refusals: exit 6 before anything starts
    trusted_proxies = settings.trusted_proxies() if proxy_headers else None  # '*': exit 6
    prepare_database(settings)

    import uvicorn

    with metrics_directory(enabled=settings.enable_prometheus_metrics):
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            reload=reload,
            proxy_headers=proxy_headers,
            forwarded_allow_ips=trusted_proxies,
            access_log=False,  # the app logs each request on `aai.access`
            log_config=log_config(settings.log_format, settings.log_level),
        )


@contextmanager
def metrics_directory(*, enabled: bool) -> Iterator[None]:
    """The server's own directory for the workers' metric files (prometheus-client's
    multiprocess mode, see `api/metrics.py`), in the environment every worker inherits.

    A PROMETHEUS_MULTIPROC_DIR the operator set (a tmpfs, say) is emptied first: a new
    server counts from zero, and stale files would add another server's counts. Otherwise
    a fresh temporary directory, removed when the server stops.
    """
    import os
    import shutil
    import tempfile
    from pathlib import Path

    if not enabled:
        yield
        return
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        yield
        return
    created = tempfile.mkdtemp(prefix="aai-metrics-")
    os.environ[MULTIPROC_ENV] = created
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(created, ignore_errors=True)


def prepare_database(settings: Settings) -> None:
    """Migrate and seed the embedded default; elsewhere refuse to start unless at head."""
    from aai_cli import console
    from aai_cli.errors import CheckFailed
    from aai_cli.services.access import catalog
    from aai_cli.services.schema import migrations

    url = settings.database_url
    if settings.is_default_sqlite:
        result = migrations.upgrade(url)
        if result.changed:
            console.info(f"migrated the embedded database to {', '.join(result.after)}")
        catalog.seed_embedded_default(settings)
        return
    status = migrations.current(url)
    if not status.at_head:
        raise CheckFailed(
            f"the database is at {status.describe_current()}, head is {', '.join(status.heads)}",
            hint="run `aai db upgrade`",
        )


def log_config(log_format: str, level: str) -> dict:
    """Logging for every uvicorn process (workers are fresh interpreters)."""
    formatter: dict = (
        {"()": "aai_cli.logs.JsonFormatter"}
        if log_format == "json"
        else {"()": "aai_cli.logs.TextFormatter"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"level": "INFO"},
            ACCESS_LOGGER: {"level": "INFO"},
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
        },
    }
