"""A hypothesis-driven walk over the OpenAPI schema: whatever the route, the parameters, the
body and the token, the API never answers 5xx (schemathesis in spirit, on real parts)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import GALAXY_ADMIN, SUPER_ROLE, TSI, add_user, decide

ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# /readyz answers 503 by design here: the test schema is built from the models, not migrated.
SKIPPED = {"/readyz"}
WEIRD_TEXT = st.text(max_size=40) | st.sampled_from(
    ["auth0|alice", "galaxy", "sbp", TSI, "%", "_", "'; DROP TABLE users; --", "\x00", "é" * 300]
)


def _resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def value_for(schema: dict, spec: dict) -> st.SearchStrategy[Any]:
    """Values valid for `schema` or near it, mixed with values that are not."""
    schema = _resolve(schema, spec)
    if "anyOf" in schema:
        return st.one_of([value_for(s, spec) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | WEIRD_TEXT
    kind = schema.get("type")
    if kind == "integer":
        return st.integers(min_value=-(2**63), max_value=2**63) | st.integers(-5, 200)
    if kind == "boolean":
        return st.booleans() | st.sampled_from(["yes", "0", "maybe"])
    if kind == "object":
        props = schema.get("properties", {})
        return (
            st.fixed_dictionaries({}, optional={k: value_for(v, spec) for k, v in props.items()})
            | ANY_JSON
        )
    if kind == "null":
        return st.none()
    return WEIRD_TEXT


def operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post") and path not in SKIPPED
    ]


@st.composite
def requests(draw, spec: dict, tokens: list[str | None]):  # type: ignore[no-untyped-def]
    path, method, op = draw(st.sampled_from(operations(spec)))
    query: dict[str, Any] = {}
    for param in op.get("parameters", []):
        value = draw(value_for(param.get("schema", {}), spec))
        if param["in"] == "path":
            text = str(value) if value not in (None, "") else "x"
            path = path.replace(
                "{" + param["name"] + "}",
                quote(text, safe="/" if param["name"] == "group_id" else ""),
            )
        elif param["in"] == "query" and draw(st.booleans()) and value is not None:
            query[param["name"]] = value if not isinstance(value, dict | list) else str(value)
    kwargs: dict[str, Any] = {"params": query}
    if "requestBody" in op:
        content = op["requestBody"]["content"]["application/json"]["schema"]
        body = draw(st.one_of(value_for(content, spec), ANY_JSON, st.binary(max_size=30)))
        kwargs["content" if isinstance(body, bytes) else "json"] = body
    token = draw(st.sampled_from(tokens))
    if token is not None:
        kwargs["headers"] = {"Authorization": f"Bearer {token}"}
    return method, path, kwargs


@pytest.fixture
def fuzz_target(api):
    add_user(api.db_url, "auth0|alice")
    add_user(api.db_url, "auth0|bob")
    decide(api.db_url, "auth0|alice", "platform", "galaxy", "request")
    decide(api.db_url, "auth0|bob", "group", TSI, "request")
    spec = api.client.get("/openapi.json").json()
    tokens = [
        api.token("auth0|alice", [SUPER_ROLE]),
        api.token("auth0|bob", [GALAXY_ADMIN]),
        api.token("auth0|alice", []),
        api.token("auth0|stranger", []),
        "garbage",
        None,
    ]
    return api, spec, tokens


def test_no_route_answers_5xx(fuzz_target):
    api, spec, tokens = fuzz_target

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        derandomize=bool(os.environ.get("CI")),  # stable in CI, exploring on a laptop
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(requests(spec, tokens))
    def check(request):  # type: ignore[no-untyped-def]
        method, path, kwargs = request
        response = api.client.request(method.upper(), path, **kwargs)
        assert response.status_code < 500, (method, path, kwargs, response.text)
        assert response.headers["content-type"].startswith("application/json")

    check()
