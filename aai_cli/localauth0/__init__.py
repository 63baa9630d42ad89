"""A local stand-in for Auth0: a real HTTP server on 127.0.0.1 answering the Management API
calls the backend makes, the JWKS and tokens, with Auth0's documented limits and behaviour
(docs/auth0.md). The test suite runs against it (tests/fakes/fixtures.py) and
`aai serve --demo` serves it beside the API (aai_cli/demo/).

`server.LocalAuth0` is the front door; the other modules are its parts. It imports nothing
of the application (no settings, models or services): it stands where Auth0 stands.
"""
