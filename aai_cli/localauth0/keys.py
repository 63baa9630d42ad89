"""RSA signing keys of the local Auth0: a small process-wide pool (RSA generation is slow),
their public JWKs, and signing/verification of RS256 tokens."""

from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_POOL: list[SigningKey] = []
_POOL_LOCK = threading.Lock()
_JWKS: dict[str, dict[str, Any]] = {}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_jwk(self) -> dict[str, Any]:
        if self.kid not in _JWKS:
            _JWKS[self.kid] = self._compute_jwk()
        return dict(_JWKS[self.kid])

    def _compute_jwk(self) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {
            "alg": "RS256",
            "kty": "RSA",
            "use": "sig",
            "n": _b64url(_int_bytes(numbers.n)),
            "e": _b64url(_int_bytes(numbers.e)),
            "kid": self.kid,
            "x5t": _b64url(hashlib.sha1(der).digest()),
        }

    def sign(self, claims: dict[str, Any], *, headers: dict[str, Any] | None = None) -> str:
        all_headers = {"kid": self.kid, "typ": "JWT", **(headers or {})}
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=all_headers)


def pooled_key(index: int) -> SigningKey:
    """The index-th key of the process-wide pool, generated on first use."""
    with _POOL_LOCK:
        while len(_POOL) <= index:
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            der = private.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            kid = _b64url(hashlib.sha256(der).digest()[:24])
            _POOL.append(SigningKey(kid=kid, private_key=private))
        return _POOL[index]


def verify(token: str, keys: list[SigningKey], *, audience: str | list[str]) -> dict[str, Any]:
    """Decode an RS256 token signed by one of `keys` (by kid); raises jwt.InvalidTokenError."""
    header = jwt.get_unverified_header(token)
    key = next((k for k in keys if k.kid == header.get("kid")), None)
    if key is None:
        raise jwt.InvalidTokenError("unknown kid")
    return jwt.decode(
        token,
        key.private_key.public_key(),
        algorithms=["RS256"],
        audience=audience,
        options={"verify_iss": False},
    )
