"""Access-token validation (services/tokens.py): every defect is InvalidToken, the JWKS
cache refetches at most once per interval on an unknown kid and never caches a failure."""

from __future__ import annotations

import socket
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from aai_cli.errors import Auth0Unavailable
from aai_cli.localauth0.keys import pooled_key
from aai_cli.services.auth0.tokens import InvalidToken, JwksCache, TokenVerifier
from tests.api.tokens_util import alg_none_token, claims, hs256_with_public_key

AUD = "https://api.example.org"
ISS = "https://tenant.example.org/"
ROLES = "https://biocommons.org.au/roles"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Jwks:
    """A JWKS endpoint in-process: serves the public keys it holds, or fails; `hold()`
    makes the next answers wait until `release()`."""

    def __init__(self, *keys) -> None:  # type: ignore[no-untyped-def]
        self.keys = list(keys)
        self.calls = 0
        self.fail = False
        self.asked = threading.Event()
        self.released = threading.Event()
        self.released.set()

    def hold(self) -> None:
        self.asked.clear()
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    def __call__(self, url: str) -> dict:
        self.calls += 1
        self.asked.set()
        assert self.released.wait(60), "the test never released the JWKS answer"
        if self.fail:
            raise Auth0Unavailable("JWKS down")
        return {"keys": [k.public_jwk() for k in self.keys]}


@pytest.fixture
def key():
    return pooled_key(0)


@pytest.fixture
def other_key():
    return pooled_key(1)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def jwks(key):
    return Jwks(key)


@pytest.fixture
def verifier(jwks, clock):
    cache = JwksCache("http://jwks.invalid", fetch=jwks, clock=clock)
    return TokenVerifier(jwks=cache, audience=AUD, issuers=[ISS], roles_claim=ROLES)


def good_claims(**overrides):
    base = claims(sub="auth0|alice", audience=AUD, issuer=ISS, roles=["r1", "r2"])
    return {**base, **overrides}


def test_valid_token_gives_subject_and_roles(verifier, key):
    caller = verifier.verify(key.sign(good_claims(permissions=["read:x"])))
    assert caller.sub == "auth0|alice"
    assert caller.roles == {"r1", "r2"}
    assert caller.permissions == {"read:x"}


def test_audience_list_containing_ours_is_accepted(verifier, key):
    token = key.sign(good_claims(aud=["https://other", AUD]))
    assert verifier.verify(token).sub == "auth0|alice"


def test_missing_roles_claim_means_no_roles(verifier, key):
    token = key.sign(claims(sub="auth0|bob", audience=AUD, issuer=ISS))
    assert verifier.verify(token).roles == frozenset()


def test_roles_claim_that_is_not_a_list_means_no_roles(verifier, key):
    token = key.sign({**good_claims(), ROLES: "admin"})
    assert verifier.verify(token).roles == frozenset()


def test_small_clock_skew_is_tolerated(verifier, key):
    now = int(time.time())
    token = key.sign(good_claims(iat=now + 10, nbf=now + 10, exp=now - 5))
    assert verifier.verify(token).sub == "auth0|alice"


def _defects(key, other_key):  # type: ignore[no-untyped-def]
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    return {
        "none": None,
        "empty": "",
        "garbage": "not-a-token",
        "three garbage parts": "a.b.c",
        "bad base64 header": "!!!.eyJ9.sig",
        "expired": key.sign(good_claims(exp=now - 120, iat=now - 3600)),
        "not yet valid (nbf)": key.sign(good_claims(nbf=now + 600)),
        "issued in the future": key.sign(good_claims(iat=now + 600)),
        "wrong audience": key.sign(good_claims(aud="https://someone-else")),
        "wrong issuer": key.sign(good_claims(iss="https://evil.example.org/")),
        "no exp": key.sign({k: v for k, v in good_claims().items() if k != "exp"}),
        "no sub": key.sign({k: v for k, v in good_claims().items() if k != "sub"}),
        "alg none": alg_none_token(good_claims(), kid=key.kid),
        "HS256 with the public key": hs256_with_public_key(good_claims(), public_pem, kid=key.kid),
        "unknown kid": other_key.sign(good_claims()),
        "missing kid": jwt.encode(good_claims(), key.private_key, algorithm="RS256"),
        "wrong signature": key.sign(good_claims())[:-6] + "AAAAAA",
        "signed by another key under our kid": other_key.sign(
            good_claims(), headers={"kid": key.kid}
        ),
        "sub not a string": key.sign(good_claims(sub=12)),
        "huge": "a" * 20_000 + ".b.c",
    }


def test_every_defect_is_invalid_token(verifier, key, other_key):
    for name, token in _defects(key, other_key).items():
        with pytest.raises(InvalidToken):
            verifier.verify(token)
            pytest.fail(f"accepted a token with a defect: {name}")


def test_unknown_kid_refetches_at_most_once_per_interval(verifier, jwks, key, other_key, clock):
    verifier.verify(key.sign(good_claims()))
    assert jwks.calls == 1
    stranger = other_key.sign(good_claims())
    for _ in range(50):
        with pytest.raises(InvalidToken):
            verifier.verify(stranger)
    assert jwks.calls == 1  # fetched moments ago: no refetch at all
    clock.now += 31
    for _ in range(50):
        with pytest.raises(InvalidToken):
            verifier.verify(stranger)
    assert jwks.calls == 2  # one refetch after the interval, whatever the number of tokens


def test_rotated_key_is_picked_up_after_the_interval(verifier, jwks, key, other_key, clock):
    verifier.verify(key.sign(good_claims()))
    jwks.keys = [key, other_key]  # Auth0 rotates: the new key appears in the JWKS
    clock.now += 30
    assert verifier.verify(other_key.sign(good_claims())).sub == "auth0|alice"
    assert jwks.calls == 2


def test_failed_fetch_is_not_cached_as_keys(verifier, jwks, key, clock):
    jwks.fail = True
    with pytest.raises(Auth0Unavailable):
        verifier.verify(key.sign(good_claims()))
    with pytest.raises(Auth0Unavailable):  # inside the short back-off: no new fetch
        verifier.verify(key.sign(good_claims()))
    assert jwks.calls == 1
    jwks.fail = False
    clock.now += 3
    assert verifier.verify(key.sign(good_claims())).sub == "auth0|alice"
    assert jwks.calls == 2


def test_jwks_document_without_keys_is_unavailable_not_empty(key, clock):
    cache = JwksCache("http://jwks.invalid", fetch=lambda url: {"oops": 1}, clock=clock)
    verifier = TokenVerifier(jwks=cache, audience=AUD, issuers=[ISS], roles_claim=ROLES)
    with pytest.raises(Auth0Unavailable):
        verifier.verify(key.sign(good_claims()))


def in_thread(fn, *args):  # type: ignore[no-untyped-def]
    """Run fn(*args) in a thread; the returned dict gets 'result' or 'error'."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = fn(*args)
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    outcome["thread"] = thread
    return outcome


def test_while_one_refresh_runs_known_keys_serve_and_unknown_kids_fail_fast(
    verifier, jwks, key, other_key, clock
):
    verifier.verify(key.sign(good_claims()))  # keys in hand
    clock.now += 31  # a refetch is due
    jwks.keys = [key, other_key]
    jwks.hold()
    refreshing = in_thread(verifier.verify, other_key.sign(good_claims()))
    assert jwks.asked.wait(30)
    # the fetch is in flight: nobody waits for it
    assert verifier.verify(key.sign(good_claims())).sub == "auth0|alice"
    with pytest.raises(InvalidToken, match="signing key is unknown"):
        verifier.verify(pooled_key(2).sign(good_claims()))
    assert jwks.calls == 2  # no second fetch started
    jwks.release()
    refreshing["thread"].join(30)
    assert refreshing["result"].sub == "auth0|alice"  # the new key arrived with the refresh


def test_before_the_first_keys_arrive_other_callers_wait_for_that_fetch(verifier, jwks, key):
    jwks.hold()
    first = in_thread(verifier.verify, key.sign(good_claims()))
    assert jwks.asked.wait(30)
    second = in_thread(verifier.verify, key.sign(good_claims()))
    jwks.release()
    first["thread"].join(30)
    second["thread"].join(30)
    assert first["result"].sub == second["result"].sub == "auth0|alice"
    assert jwks.calls == 1  # the second caller waited for the first one's fetch


def test_a_first_fetch_that_outlasts_the_wait_is_503(jwks, key, clock):
    cache = JwksCache("http://jwks.invalid", fetch=jwks, clock=clock, first_fetch_wait_s=0.05)
    verifier = TokenVerifier(jwks=cache, audience=AUD, issuers=[ISS], roles_claim=ROLES)
    jwks.hold()
    first = in_thread(verifier.verify, key.sign(good_claims()))
    assert jwks.asked.wait(30)
    with pytest.raises(Auth0Unavailable, match="being fetched"):
        verifier.verify(key.sign(good_claims()))
    jwks.release()
    first["thread"].join(30)
    assert first["result"].sub == "auth0|alice"


def test_a_jwks_endpoint_that_never_answers_times_out(key, settings_env):
    from aai_cli.settings import get_settings

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/.well-known/jwks.json"
        settings_env(
            AUTH0_AUDIENCE=AUD,
            AUTH0_ISSUER=ISS,
            AUTH0_JWKS_URL=url,
            AUTH0_JWKS_TIMEOUT_S="0.2",
        )
        verifier = TokenVerifier.from_settings(get_settings())
        with pytest.raises(Auth0Unavailable, match="cannot fetch the JWKS: ReadTimeout"):
            verifier.verify(key.sign(good_claims()))
