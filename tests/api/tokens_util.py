"""Hand-made token defects (the ones PyJWT refuses to produce) for the token tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )


def alg_none_token(claims: dict[str, Any], *, kid: str | None = None) -> str:
    header = {"alg": "none", "typ": "JWT", **({"kid": kid} if kid else {})}
    return segments(header, claims) + "."


def hs256_with_public_key(claims: dict[str, Any], public_pem: bytes, *, kid: str) -> str:
    """The classic key-confusion attack: HMAC keyed with the RSA public key."""
    signing_input = segments({"alg": "HS256", "typ": "JWT", "kid": kid}, claims)
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def claims(
    *,
    sub: str,
    audience: Any,
    issuer: str,
    roles: list[str] | None = None,
    roles_claim: str = "https://biocommons.org.au/roles",
    expires_in: int = 3600,
    **extra: Any,
) -> dict[str, Any]:
    now = int(time.time())
    data: dict[str, Any] = {
        "sub": sub,
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "exp": now + expires_in,
        **extra,
    }
    if roles is not None:
        data[roles_claim] = roles
    return data
