"""The app around the routes: health, readiness, docs, CORS, metrics, error shapes, logs."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from aai_cli.errors import ConfigError
from aai_cli.settings import get_settings
from tests.api.conftest import add_user


def _app() -> TestClient:
    from api.app import create_app

    return TestClient(create_app())


def test_root_health_and_docs(db_url):
    client = _app()
    root = client.get("/").json()
    assert root["name"] == "aai-backend" and root["version"]
    assert client.get("/healthz").json() == {"status": "ok"}
    schema = client.get("/openapi.json").json()
    assert "/admin/users" in schema["paths"] and "/me/profile" in schema["paths"]
    assert client.get("/docs").status_code == 200


def test_readyz_needs_the_schema_at_head(empty_db_url):
    from aai_cli.services import schema

    client = _app()
    not_migrated = client.get("/readyz")
    assert not_migrated.status_code == 503
    assert "head is" in not_migrated.json()["detail"]
    schema.upgrade(empty_db_url)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["revision"] == schema.heads()


def test_readyz_when_the_database_is_down(monkeypatch):
    monkeypatch.setenv("DB_URL", "postgresql://nobody@127.0.0.1:9/none")
    get_settings.cache_clear()
    response = _app().get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_cors_star_is_refused_at_start_up(db_url, monkeypatch):
    from api.app import create_app

    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://portal.example.org,*")
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match=r"\*"):
        create_app()


def test_cors_allows_only_listed_origins(db_url, monkeypatch):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://portal.example.org")
    get_settings.cache_clear()
    client = _app()
    preflight = {"Access-Control-Request-Method": "GET"}
    ok = client.options(
        "/me/profile", headers={"Origin": "https://portal.example.org", **preflight}
    )
    assert ok.headers["access-control-allow-origin"] == "https://portal.example.org"
    evil = client.options("/me/profile", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in evil.headers


def test_unknown_route_and_method_are_json(db_url):
    client = _app()
    missing = client.get("/nope")
    assert missing.status_code == 404 and missing.json() == {
        "message": "Not Found",
        "detail": "Not Found",
    }
    wrong_method = client.delete("/healthz")
    assert wrong_method.status_code == 405 and "message" in wrong_method.json()


def test_malformed_json_is_400_with_field_errors(api):
    add_user(api.db_url, "auth0|alice")
    response = api.client.post(
        "/me/groups/request",
        content=b'{"group_id": ',
        headers={**api.headers("auth0|alice", []), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "invalid request"
    assert body["field_errors"][0]["field"] == "body"


def test_database_down_is_503(api, monkeypatch):
    add_user(api.db_url, "auth0|alice")
    monkeypatch.setenv("DB_URL", "postgresql://nobody@127.0.0.1:9/none")
    get_settings.cache_clear()
    response = api.get("/me/platforms")
    assert response.status_code == 503
    message = "the database is unavailable"
    assert response.json() == {"message": message, "detail": message}


def test_metrics_when_enabled(db_url, monkeypatch):
    monkeypatch.setenv("ENABLE_PROMETHEUS_METRICS", "true")
    get_settings.cache_clear()
    client = _app()
    client.get("/healthz")
    metrics = client.get("/metrics/").text
    assert 'aai_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics
    monkeypatch.delenv("ENABLE_PROMETHEUS_METRICS")
    get_settings.cache_clear()
    assert _app().get("/metrics/").status_code == 404


def test_access_log_as_json(db_url, monkeypatch, capsys):
    from aai_cli.logs import JsonFormatter

    logger = logging.getLogger("aai.access")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    monkeypatch.setattr(logger, "propagate", False)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        _app().get("/healthz")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    [line] = [ln for ln in capsys.readouterr().err.splitlines() if "/healthz" in ln]
    record = json.loads(line)
    assert (record["method"], record["path"], record["status"]) == ("GET", "/healthz", 200)
    assert record["duration_ms"] >= 0
