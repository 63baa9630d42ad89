"""The FastAPI application: `create_app()` (uvicorn: `api.app:create_app`, factory=True).

Configuration is checked here, at start-up: `CORS_ALLOWED_ORIGINS=*` is refused
(ConfigError), and without `AUTH0_AUDIENCE` the authenticated routes answer 503 while
health and registration keep working.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from aai_cli import __version__
from aai_cli.errors import ConfigError
from aai_cli.services import recaptcha
from aai_cli.services.auth0 import TokenVerifier, get_gateway
from aai_cli.settings import Settings, get_settings
from api import metrics
from api.errors import install_error_handlers, install_error_schema
from api.guards import BodyLimit, TokenBeforeBody
from api.routers import accounts, actions, admin, health, me, registration, utils

log = logging.getLogger("aai.api")
access_log = logging.getLogger("aai.access")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_start_up()
    origins = settings.cors_origins()
    if recaptcha.skipped(settings):
        log.warning("RECAPTCHA_DISABLED: registration and the resend run without a bot check")
    if not settings.sbp_registration_on:
        log.info("SBP registration is off (SBP_REGISTRATION_ENABLED): /sbp/register answers 404")
    app = FastAPI(
        title="AAI backend",
        version=__version__,
        description="The API of the Australian BioCommons Access and Identity portal.",
        lifespan=metrics.worker_lifespan,
    )
    app.state.settings = settings
    app.state.verifier = _verifier(settings)
    app.state.user_source = _user_source(settings)
    install_error_handlers(app)
    install_error_schema(app)
    for module in (health, actions, me, admin, registration, utils):
        app.include_router(module.router)
    app.include_router(accounts.me_router)
    app.include_router(accounts.admin_router)
    # the last added runs first: access log, metrics, CORS (so that refusals carry its
    # headers), then the body limit and the token check, before the app reads a body
    app.add_middleware(TokenBeforeBody)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    if settings.enable_prometheus_metrics:
        metrics.install(app)
    app.add_middleware(AccessLogMiddleware)
    return app


def _verifier(settings: Settings) -> TokenVerifier | None:
    if not settings.auth0_audience:
        log.warning("AUTH0_AUDIENCE is not set: authenticated routes will answer 503")
        return None
    try:
        return TokenVerifier.from_settings(settings)
    except ConfigError as exc:
        log.warning("%s: authenticated routes will answer 503", exc)
        return None


def _user_source(settings: Settings) -> Callable[[], Any]:
    """The Auth0 gateway for first-seen users and admin details; None when not configured."""

    def source() -> Any:
        try:
            settings.require_auth0_management()
        except ConfigError:
            return None

        return get_gateway()

    return source


class AccessLogMiddleware:
    """One log record per request on `aai.access` (JSON lines with `LOG_FORMAT=json`)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not access_log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            client = scope.get("client") or ("-", 0)
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status["code"],
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status["code"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": client[0],
                },
            )
