"""Auth0: the Management API gateway and the verification of the tokens Auth0 issues.

`gateway` (one Management API client per process, its rate ceiling and retries) is built
on the private `transport` (token provider, retry policy, rate limiter) and `models`
(the typed records read from Auth0). `tokens` verifies the API's bearer tokens.
"""

from aai_cli.services.auth0.gateway import Auth0Gateway, close_gateway, get_gateway
from aai_cli.services.auth0.tokens import Caller, InvalidToken, TokenVerifier

__all__ = [
    "Auth0Gateway",
    "Caller",
    "InvalidToken",
    "TokenVerifier",
    "close_gateway",
    "get_gateway",
]
