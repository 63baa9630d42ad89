"""Running the local Auth0 by hand or in a child process: `python -m aai_cli.localauth0`
(see the docstring of aai_cli/localauth0/server.py), `populate()` and `spawned()`."""

from __future__ import annotations

import contextlib
import json
import random
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

BIOCOMMONS_ROLES = (
    "biocommons/platform/galaxy",
    "biocommons/platform/bpa_data_portal",
    "biocommons/platform/sbp",
    "biocommons/group/tsi",
    "biocommons/group/bpa_galaxy",
)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m aai_cli.localauth0", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--port", type=int, default=9000, help="0 picks a free port")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--social-fraction", type=float, default=0.1)
    parser.add_argument(
        "--role-members", type=int, default=None, help="members per role (default: users/5)"
    )
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second")
    parser.add_argument("--burst", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each request")
    parser.add_argument("--fail-fraction", type=float, default=0.0)
    parser.add_argument("--domain", default="tenant.test")
    parser.add_argument("--client-id", default="fake-client-id")
    parser.add_argument("--client-secret", default="fake-client-secret-of-the-local-tenant")
    args = parser.parse_args(argv)
    from aai_cli.localauth0.server import LocalAuth0

    fake = LocalAuth0(
        port=args.port,
        domain=args.domain,
        client_id=args.client_id,
        client_secret=args.client_secret,
        seed=args.seed,
    )
    populate(
        fake,
        users=args.users,
        seed=args.seed,
        social_fraction=args.social_fraction,
        role_members=args.role_members,
    )
    fake.rate_limit(args.rate_limit, args.burst)
    fake.latency_s = args.latency
    fake.fail_fraction = args.fail_fraction
    fake.start()
    info = {
        "url": fake.url,
        "domain": fake.domain,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "audience": fake.api_audience,
        "issuer": fake.issuer,
        "users": args.users,
    }
    print(json.dumps(info), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


def populate(
    fake: Any,
    *,
    users: int,
    seed: int = 0,
    social_fraction: float = 0.1,
    role_members: int | None = None,
    roles: tuple[str, ...] = BIOCOMMONS_ROLES,
) -> None:
    """Fill a tenant: `users` generated users and the given roles, each with `role_members`
    members (default users/len(roles)) picked deterministically (overlapping)."""
    generated = [
        u["user_id"]
        for u in fake.store.generate_users(users, seed=seed, social_fraction=social_fraction)
    ]
    per_role = len(generated) // max(1, len(roles)) if role_members is None else role_members
    rng = random.Random(seed)
    for name in roles:
        role = fake.add_role(name, f"Access role {name}")
        fake.generate_role_members(role["id"], rng.sample(generated, min(per_role, len(generated))))


def auth0_variables(
    domain: str, url: str, client_id: str, client_secret: str, audience: str, issuer: str
) -> dict[str, str]:
    """The AUTH0_* variables pointing our settings at a local Auth0."""
    return {
        "AUTH0_DOMAIN": domain,
        "AUTH0_BASE_URL": url,
        "AUTH0_MANAGEMENT_ID": client_id,
        "AUTH0_MANAGEMENT_SECRET": client_secret,
        "AUTH0_AUDIENCE": audience,
        "AUTH0_ISSUER": issuer,
    }


class Spawned(NamedTuple):
    url: str
    domain: str
    client_id: str
    client_secret: str
    audience: str
    issuer: str
    process: subprocess.Popen

    def env(self) -> dict[str, str]:
        """The AUTH0_* variables pointing our settings at this server."""
        return auth0_variables(
            self.domain, self.url, self.client_id, self.client_secret, self.audience, self.issuer
        )

    def stats(self) -> dict[str, int]:
        import httpx

        return httpx.get(f"{self.url}/__fake__/stats").json()

    def management_token(self) -> str:
        """A Management API access token, by the SDK's client credentials grant."""
        from auth0.authentication import GetToken

        host = self.url.removeprefix("http://")
        grant = GetToken(host, self.client_id, self.client_secret, protocol="http")
        return grant.client_credentials(f"https://{self.domain}/api/v2/")["access_token"]


@contextlib.contextmanager
def spawned(*args: str, users: int = 1000, timeout_s: float = 600) -> Iterator[Spawned]:
    """The by-hand server in a child process (its memory and CPU stay out of the caller's
    measurements: use this for benchmarks). Extra `args` are CLI flags, e.g.
    `spawned("--role-members", "20000", users=100_000)`."""
    command = [sys.executable, "-m", "aai_cli.localauth0", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--users", str(users), *args], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        ready = select.select([process.stdout], [], [], timeout_s)[0]
        line = process.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError("the local Auth0 did not start")
        info = json.loads(line)
        yield Spawned(
            info["url"],
            info["domain"],
            info["client_id"],
            info["client_secret"],
            info["audience"],
            info["issuer"],
            process,
        )
    finally:
        process.terminate()
        process.wait(10)
