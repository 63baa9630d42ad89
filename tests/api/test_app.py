"""The app around the routes: health, readiness, docs, CORS, metrics, error shapes, logs."""

from __future__ import annotations

import json
import logging
import logging.config
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from aai_cli.errors import ConfigError
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
    from aai_cli import db
    from aai_cli.services.schema import migrations

    with db.get_engine(empty_db_url).connect():
        pass  # an empty database (on SQLite: an empty file)
    client = _app()
    not_migrated = client.get("/readyz")
    assert not_migrated.status_code == 503
    assert "head is" in not_migrated.json()["detail"]
    migrations.upgrade(empty_db_url)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["revision"] == migrations.heads()


def test_readyz_notices_the_database_is_gone(empty_db_url, backend):
    from aai_cli.services.schema import migrations
    from tests.conftest import drop_postgres_database

    migrations.upgrade(empty_db_url)
    client = _app()
    assert client.get("/readyz").status_code == 200  # the pool now holds a connection
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(make_url(empty_db_url).database + suffix).unlink(missing_ok=True)
    else:
        drop_postgres_database(empty_db_url)
    gone = client.get("/readyz")
    assert gone.status_code == 503
    assert gone.json()["status"] == "unavailable"
    if backend == "sqlite":
        assert "cannot be read" in gone.json()["detail"]
        assert not Path(make_url(empty_db_url).database).exists()  # not created afresh


def test_readyz_when_the_database_is_down(settings_env):
    settings_env(DB_URL="postgresql://nobody@127.0.0.1:9/none")
    response = _app().get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_cors_star_is_refused_at_start_up(db_url, settings_env):
    from api.app import create_app

    settings_env(CORS_ALLOWED_ORIGINS="https://portal.example.org,*")
    with pytest.raises(ConfigError, match=r"\*"):
        create_app()


def test_cors_allows_only_listed_origins(db_url, settings_env):
    settings_env(CORS_ALLOWED_ORIGINS="https://portal.example.org")
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
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not Found", "detail": "Not Found"}
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
    assert body["detail"] == "invalid request"  # a string the portal can show, never a list
    assert body["field_errors"][0]["field"] == "body"


def test_every_error_body_carries_a_string_detail(api):
    add_user(api.db_url, "auth0|alice")
    missing_field = api.post("/me/groups/request", json={"groups": [{"request_reason": "x"}]})
    assert missing_field.status_code == 400
    assert missing_field.json() == {
        "message": "invalid request",
        "detail": "invalid request",
        "field_errors": [{"field": "groups.0.group_id", "message": "Field required"}],
    }
    no_token = api.client.get("/me/profile")
    assert no_token.status_code == 401
    assert no_token.json() == {
        "message": "a bearer token is required",
        "detail": "a bearer token is required",
    }
    not_admin = api.get("/admin/users")
    assert not_admin.status_code == 403
    assert not_admin.json()["detail"] == not_admin.json()["message"]
    unknown_group = api.post("/me/groups/request", json={"group_id": "biocommons/group/nope"})
    assert unknown_group.status_code == 404
    assert isinstance(unknown_group.json()["detail"], str) and unknown_group.json()["detail"]


def test_openapi_states_the_400_error_shape_not_fastapis_422(db_url):
    document = _app().get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    body = schemas["ErrorBody"]
    assert set(body["properties"]) == {"message", "detail", "field_errors"}
    assert set(body["required"]) == {"message", "detail"}
    assert body["properties"]["detail"]["type"] == "string"
    item = body["properties"]["field_errors"]["items"]["$ref"].rsplit("/", 1)[-1]
    assert set(schemas[item]["properties"]) == {"field", "message"}
    with_input = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            if operation.get("parameters") or operation.get("requestBody"):
                with_input += 1
                error = responses["400"]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
    assert with_input >= 10


def test_auth0_refusing_the_management_credentials_is_503_not_500(db_url, auth0_env, settings_env):
    from api.app import create_app

    settings_env(
        AUTH0_MANAGEMENT_SECRET="not-the-secret",  # the token endpoint: 401
        ADMIN_ROLES='["biocommons/role/biocommons/admin"]',
    )
    add_user(db_url, "auth0|bob")
    auth0_env.add_user(user_id="auth0|carol", email="carol@example.org", username="carol")
    client = TestClient(create_app())
    admin = auth0_env.mint_token("auth0|alice", roles=["biocommons/role/biocommons/admin"])
    details = client.get(
        "/admin/users/auth0|bob/details", headers={"Authorization": f"Bearer {admin}"}
    )
    first_seen = client.get(
        "/me/profile",
        headers={"Authorization": f"Bearer {auth0_env.mint_token('auth0|carol')}"},
    )
    for response in (details, first_seen):
        assert response.status_code == 503, response.text
        body = response.json()
        assert "Auth0 refused the management client credentials" in body["message"]
        assert "AUTH0_MANAGEMENT_SECRET" in body["detail"]
        assert "not-the-secret" not in response.text


def test_database_down_is_503(api, settings_env):
    add_user(api.db_url, "auth0|alice")
    settings_env(DB_URL="postgresql://nobody@127.0.0.1:9/none")
    response = api.get("/me/platforms")
    assert response.status_code == 503
    assert response.json() == {
        "message": "the database is unavailable",
        "detail": "the database is unavailable",
    }


def test_metrics_when_enabled(db_url, settings_env):
    settings_env(ENABLE_PROMETHEUS_METRICS="true")
    client = _app()
    client.get("/healthz")
    metrics = client.get("/metrics/").text
    assert 'aai_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics
    settings_env(ENABLE_PROMETHEUS_METRICS=None)
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


FORGED = "/x\r\n2030-01-01 00:00:00,000 INFO aai.access: GET /admin/users 200\x1b[2J\u2028"


def _access_lines(formatter: logging.Formatter, capsys, path: str) -> list[str]:  # type: ignore[no-untyped-def]
    logger = logging.getLogger("aai.access")
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    previous, propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        assert _app().get(path).status_code == 404
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        logger.propagate = propagate
    return capsys.readouterr().err.splitlines()


def test_a_request_cannot_forge_a_text_log_line(db_url, capsys):
    from aai_cli.commands.serve import log_config

    config = log_config("text", "INFO")["formatters"]["default"]
    formatter = logging.config.dictConfigClass({}).configure_custom(dict(config))
    lines = _access_lines(formatter, capsys, quote(FORGED))
    assert len(lines) == 1
    assert lines[0].endswith(
        " INFO aai.access: GET /x\\x0d\\x0a2030-01-01 00:00:00,000 INFO aai.access: "
        "GET /admin/users 200\\x1b[2J\\u2028 404"
    )


def test_json_log_lines_escape_control_characters(db_url, capsys):
    from aai_cli.logs import JsonFormatter

    lines = _access_lines(JsonFormatter(), capsys, quote(FORGED))
    assert len(lines) == 1
    assert "\u2028" not in lines[0] and "\x1b" not in lines[0]
    assert json.loads(lines[0])["path"] == FORGED
