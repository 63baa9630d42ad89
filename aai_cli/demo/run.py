"""Start the demo inside `aai serve --demo`, before uvicorn: refuse a real environment,
start the local Auth0 on loopback, point this process's settings at it and at `demo.db`
(made afresh), fill both, write the state file and print the personas' tokens."""

from __future__ import annotations

import atexit
import os
import signal
import threading
from pathlib import Path

from aai_cli.demo import guard, seed
from aai_cli.demo.institutions import DemoInstitutions
from aai_cli.demo.personas import PERSONAS, SUPER_ADMIN_ROLE
from aai_cli.demo.state import DEMO_DB, DemoState, running, write
from aai_cli.demo.state import remove as remove_state
from aai_cli.errors import Busy, ConfigError
from aai_cli.localauth0.server import PORTAL_CLIENT_ID, LocalAuth0
from aai_cli.services import auth0 as auth0_service
from aai_cli.services.schema import migrations
from aai_cli.settings import get_settings, load_settings

DOMAIN = "aai-demo.local"
AUDIENCE = "https://aai-demo.local/api"
PORTAL_DEV_ORIGIN = "http://localhost:4200"


def start(*, host: str, port: int, directory: Path | None = None) -> DemoState:
    """Everything the demo needs before the API serves; the local Auth0 listens on
    `port + 1` until the process ends."""
    directory = (directory or Path.cwd()).resolve()
    settings = load_settings()  # the environment and .env as they are
    guard.check(settings)
    other = running(directory)
    if other is not None and other.pid != os.getpid():
        raise Busy(f"a demo server already runs from {directory} (pid {other.pid})")
    auth0 = _start_auth0(port + 1)
    institutions = DemoInstitutions().start()
    database_url = f"sqlite:///{_fresh_database(directory)}"
    api_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    os.environ.update(
        {
            "ENVIRONMENT": "development",
            "DB_URL": database_url,
            **auth0.env(),
            "ADMIN_ROLES": f'["{SUPER_ADMIN_ROLE}"]',
            "EMAIL_BACKEND": "console",
            "RECAPTCHA_DISABLED": "true",
            "INSTITUTION_CHECK_URL": institutions.url,  # answered here, never online
            "CORS_ALLOWED_ORIGINS": settings.cors_allowed_origins or PORTAL_DEV_ORIGIN,
        }
    )
    get_settings.cache_clear()
    auth0_service.close_gateway()
    migrations.upgrade(database_url)
    seed.fill_tenant(auth0)
    seed.fill_database(database_url)
    state = DemoState(
        api_url=api_url,
        auth0_url=auth0.url,
        domain=auth0.domain,
        client_id=PORTAL_CLIENT_ID,
        audience=auth0.api_audience,
        management_id=auth0.client_id,
        management_secret=auth0.client_secret,
        database_url=database_url,
        pid=os.getpid(),
        personas=[
            {
                "name": p.name,
                "user_id": p.user_id,
                "username": p.username,
                "email": p.email,
                "description": p.description,
                "roles": auth0.user_roles(p.user_id),
                "blocked": p.blocked,
            }
            for p in PERSONAS
        ],
    )
    write(state, directory)
    pid = os.getpid()
    atexit.register(remove_state, directory, pid)
    atexit.register(auth0.stop)
    atexit.register(institutions.stop)
    if threading.current_thread() is threading.main_thread():
        # uvicorn shuts down on SIGTERM, then raises it again: exit through atexit
        signal.signal(signal.SIGTERM, _exit_on_signal)
    print(banner(state, auth0), flush=True)
    return state


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _start_auth0(port: int) -> LocalAuth0:
    auth0 = LocalAuth0(port=port, domain=DOMAIN, api_audience=AUDIENCE)
    try:
        return auth0.start()
    except OSError as exc:
        raise ConfigError(
            f"the local Auth0 cannot listen on 127.0.0.1:{port} ({exc.strerror})",
            hint="it takes the API's port + 1: choose another --port",
        ) from None


def _fresh_database(directory: Path) -> Path:
    """`demo.db` made afresh: the local Auth0 starts empty at every run, so must it."""
    path = directory / DEMO_DB
    for leftover in directory.glob(f"{DEMO_DB}*"):
        leftover.unlink()
    return path


def banner(state: DemoState, auth0: LocalAuth0) -> str:
    lines = [
        "",
        "AAI demo: nothing here is real and nothing leaves this machine.",
        f"  API           {state.api_url}  (try it at {state.api_url}/docs)",
        f"  local Auth0   {state.auth0_url}  (domain for an Auth0 SDK: {state.auth0_url})",
        f"  client id     {state.client_id}",
        f"  audience      {state.audience}",
        f"  database      {state.database_url}",
        "  emails        printed on stderr",
        "",
        "Bearer tokens for /docs 'Authorize' (fresh ones: aai demo token --as PERSONA):",
    ]
    for persona in PERSONAS:
        lines.append(f"  {persona.name}: {persona.description}")
        if persona.blocked:
            lines.append("    (blocked: Auth0 gives no token)")
        else:
            lines.append(f"    {auth0.user_token(persona.user_id, client_id=state.client_id)}")
    return "\n".join(lines) + "\n"
