"""What the `aai demo` commands ask a running demo: a fresh token for a persona, by the
password grant of its local Auth0 (as a real tenant would answer it)."""

from __future__ import annotations

import httpx

from aai_cli.demo.personas import DEMO_PASSWORD, find
from aai_cli.demo.state import DemoState
from aai_cli.errors import Auth0Unavailable, InvalidInput, NotFound


def persona_token(state: DemoState, name: str) -> str:
    known = {p["name"]: p for p in state.personas}
    persona = find(name)
    if persona is None or name not in known:
        raise NotFound(f"no demo persona {name!r} (one of: {', '.join(known)})")
    try:
        answer = httpx.post(
            f"{state.auth0_url}/oauth/token",
            data={
                "grant_type": "password",
                "username": persona.username,
                "password": DEMO_PASSWORD,
                "client_id": state.management_id,
                "client_secret": state.management_secret,
                "audience": state.audience,
                "scope": "openid profile email",
            },
            timeout=10,
        )
    except httpx.TransportError as exc:
        raise Auth0Unavailable(f"the demo's local Auth0 did not answer: {exc}") from None
    if answer.status_code != 200:
        body = answer.json() if answer.content else {}
        raise InvalidInput(
            f"the local Auth0 gives {name} no token: "
            f"{body.get('error_description') or answer.status_code}"
        )
    return str(answer.json()["access_token"])
