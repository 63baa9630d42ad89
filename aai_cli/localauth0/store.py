"""The tenant data of the local Auth0: users, roles and role assignments, with the indexes
that keep every request O(page) (sorted indexes for ranges and sorts, email/username maps,
per-role sorted member lists). Thread-safe; stored user dicts are never mutated in place
(an update replaces the dict), so a snapshot is a cheap list of references."""

from __future__ import annotations

import bisect
import hashlib
import json
import random
import string
import threading
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from aai_cli.localauth0.query import DATE_FIELDS, Node, Range, Term, index_hint

DB_CONNECTION = "Username-Password-Authentication"
SOCIAL_CONNECTION = "google-oauth2"
CONNECTIONS = {
    DB_CONNECTION: {"id": "con_Db0fAkeUsrPwdAu", "provider": "auth0", "social": False},
    SOCIAL_CONNECTION: {"id": "con_G00gLeFakeAuth", "provider": "google-oauth2", "social": True},
}
ROLE_MEMBER_FIELDS = ("user_id", "email", "picture", "name")
_FIRST = ["Ada", "Alan", "Grace", "Linus", "Barbara", "Dennis", "Frances", "Ken", "Radia", "Tim"]
_LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Ritchie", "Allen", "Thompson"]
_GENERATED_EPOCH = datetime(2021, 1, 1)  # naive UTC: isoformat() without an offset


def iso(moment: datetime) -> str:
    """Auth0's timestamp format: ISO 8601 UTC with milliseconds."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds") + "Z"


_compact = json.JSONEncoder(separators=(",", ":")).encode


def sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, value if isinstance(value, str) else str(value).lower())


def gravatar(email: str | None) -> str:
    digest = hashlib.md5((email or "").encode()).hexdigest()
    return f"https://s.gravatar.com/avatar/{digest}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com.png"


class Conflict(Exception):
    """A uniqueness rule of the connection is broken (the HTTP layer answers 409/400)."""


class TenantStore:
    def __init__(self, seed: int = 0) -> None:
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self.users: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, dict[str, Any]] = {}
        self.user_roles: dict[str, set[str]] = {}
        self.role_members: dict[str, set[str]] = {}
        self._members_sorted: dict[str, list[str]] = {}
        self._by_email: dict[str, set[str]] = {}
        self._by_username: dict[str, set[str]] = {}
        self._indexes: dict[str, list[tuple[Any, str]]] = {}
        self._member_json: dict[str, tuple[dict[str, Any] | None, bytes]] = {}
        self._last_stamp = ""
        self._generated = 0

    # --- ids and clock -------------------------------------------------------------

    def random_id(self, prefix: str, length: int = 16) -> str:
        alphabet = string.ascii_letters + string.digits
        with self.lock:
            return prefix + "".join(self._rng.choice(alphabet) for _ in range(length))

    def stamp(self) -> str:
        """Now, strictly after the previous stamp, so every write moves `updated_at`."""
        with self.lock:
            now = iso(datetime.now(UTC))
            if now <= self._last_stamp:
                last = datetime.fromisoformat(self._last_stamp.replace("Z", "+00:00"))
                now = iso(last + timedelta(milliseconds=1))
            self._last_stamp = now
            return now

    def _new_user_id(self, provider: str) -> str:
        if provider == "auth0":
            return f"auth0|{self._rng.getrandbits(96):024x}"
        return f"{provider}|{self._rng.randrange(10**20, 10**21)}"

    # --- indexes -------------------------------------------------------------------

    def _index(self, field: str) -> list[tuple[Any, str]]:
        index = self._indexes.get(field)
        if index is None:
            index = sorted(
                (self._index_key(field, u[field]), uid)
                for uid, u in self.users.items()
                if u.get(field) is not None
            )
            self._indexes[field] = index
        return index

    @staticmethod
    def _index_key(field: str, value: Any) -> Any:
        return value if field in DATE_FIELDS else sort_key(value)

    def _unindex(self, user: dict[str, Any]) -> None:
        uid = user["user_id"]
        for field, index in self._indexes.items():
            if user.get(field) is not None:
                entry = (self._index_key(field, user[field]), uid)
                pos = bisect.bisect_left(index, entry)
                if pos < len(index) and index[pos] == entry:
                    del index[pos]
        for mapping, key in ((self._by_email, "email"), (self._by_username, "username")):
            value = user.get(key)
            if isinstance(value, str):
                bucket = mapping.get(value.lower())
                if bucket is not None:
                    bucket.discard(uid)
                    if not bucket:
                        del mapping[value.lower()]

    def _reindex(self, user: dict[str, Any]) -> None:
        uid = user["user_id"]
        for field, index in self._indexes.items():
            if user.get(field) is not None:
                bisect.insort(index, (self._index_key(field, user[field]), uid))
        for mapping, key in ((self._by_email, "email"), (self._by_username, "username")):
            value = user.get(key)
            if isinstance(value, str):
                mapping.setdefault(value.lower(), set()).add(uid)

    # --- users -----------------------------------------------------------------------

    def build_user(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A user object shaped like Auth0's from loose fields (defaults filled in)."""
        fields = dict(fields)
        connection = fields.pop("connection", DB_CONNECTION)
        info = CONNECTIONS.get(connection, {"provider": connection, "social": True})
        provider = info["provider"]
        user_id = fields.pop("user_id", None) or self._new_user_id(provider)
        email = fields.pop("email", None)
        if isinstance(email, str) and not info["social"]:
            email = email.lower()
        created = fields.pop("created_at", None) or self.stamp()
        user: dict[str, Any] = {"user_id": user_id}
        if email is not None:
            user["email"] = email
        user["email_verified"] = fields.pop("email_verified", bool(info["social"]))
        username = fields.pop("username", None)
        if username is not None and not info["social"]:
            user["username"] = username
        user["name"] = fields.pop("name", email or user_id)
        user["nickname"] = fields.pop("nickname", (email or user_id).split("@")[0])
        user["picture"] = fields.pop("picture", gravatar(email))
        user["identities"] = fields.pop(
            "identities",
            [
                {
                    "connection": connection,
                    "provider": provider,
                    "user_id": user_id.split("|", 1)[-1],
                    "isSocial": bool(info["social"]),
                }
            ],
        )
        user["created_at"] = created
        user["updated_at"] = fields.pop("updated_at", None) or created
        for key in ("password", "verify_email", "client_id"):
            fields.pop(key, None)
        user.update({k: v for k, v in fields.items() if v is not None})
        return user

    def insert(self, user: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if user["user_id"] in self.users:
                raise Conflict("The user already exists.")
            self.users[user["user_id"]] = user
            self._reindex(user)
            return user

    def replace(self, user_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """Apply a PATCH: root fields replaced (None removes), metadata merged one level."""
        with self.lock:
            old = self.users.get(user_id)
            if old is None:
                return None
            new = dict(old)
            for key, value in changes.items():
                if key in {"password", "verify_email", "connection", "client_id"}:
                    continue
                if key in {"app_metadata", "user_metadata"} and isinstance(value, dict):
                    merged = {**old.get(key, {}), **value}
                    new[key] = {k: v for k, v in merged.items() if v is not None}
                elif value is None:
                    new.pop(key, None)
                else:
                    new[key] = value
            if isinstance(new.get("email"), str) and not self.is_social(new):
                new["email"] = new["email"].lower()
            if "updated_at" not in changes:
                new["updated_at"] = self.stamp()
            self._unindex(old)
            self.users[user_id] = new
            self._reindex(new)
            return new

    def remove(self, user_id: str) -> bool:
        with self.lock:
            user = self.users.pop(user_id, None)
            if user is None:
                return False
            self._unindex(user)
            for role_id in self.user_roles.pop(user_id, set()):
                self.role_members.get(role_id, set()).discard(user_id)
                self._members_sorted.pop(role_id, None)
            return True

    @staticmethod
    def is_social(user: dict[str, Any]) -> bool:
        identities = user.get("identities") or [{}]
        return bool(identities[0].get("isSocial"))

    def connection_of(self, user: dict[str, Any]) -> str | None:
        identities = user.get("identities") or [{}]
        return identities[0].get("connection")

    def find(self, field: str, value: str) -> list[dict[str, Any]]:
        """Users whose email/username equals `value` case-insensitively (index lookup)."""
        mapping = self._by_email if field == "email" else self._by_username
        with self.lock:
            return [self.users[uid] for uid in sorted(mapping.get(value.lower(), ()))]

    def search(
        self, node: Node | None, sort: tuple[str, int] | None, start: int, count: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """(total matches, the users at [start, start+count)) for a parsed query and sort."""
        with self.lock:
            if node is None and sort is None:
                page = list(islice(self.users.values(), start, start + count))
                return len(self.users), page
            if node is None and sort is not None:
                return self._sorted_page(sort[0], sort[1], start, count)
            hint = index_hint(node) if node is not None else None
            if isinstance(hint, Range) and hint is node and (sort is None or sort[0] == hint.field):
                return self._range_page(hint, -1 if sort and sort[1] < 0 else 1, start, count)
            candidates = self._candidates(hint)
            if node is not None and hint is not node:
                candidates = [u for u in candidates if node.match(u)]
            if sort is not None:
                candidates = self._sorted(candidates, *sort)
            return len(candidates), candidates[start : start + count]

    def _range_page(
        self, node: Range, direction: int, start: int, count: int
    ) -> tuple[int, list[dict[str, Any]]]:
        index = self._index(node.field)
        low, high = self._bounds(index, node)
        total = max(0, high - low)
        if direction > 0:
            positions = range(low + start, min(high, low + start + count))
        else:
            positions = range(high - 1 - start, max(low, high - start - count) - 1, -1)
        return total, [self.users[index[p][1]] for p in positions]

    @staticmethod
    def _bounds(index: list[tuple[Any, str]], node: Range) -> tuple[int, int]:
        low, high = 0, len(index)
        if node.low is not None:
            finder = bisect.bisect_left if node.low_inclusive else bisect.bisect_right
            low = finder(index, node.low, key=lambda e: e[0])
        if node.high is not None:
            finder = bisect.bisect_right if node.high_inclusive else bisect.bisect_left
            high = finder(index, node.high, key=lambda e: e[0])
        return low, high

    def _sorted_page(
        self, field: str, direction: int, start: int, count: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """A page of every user sorted by `field` from its index (users without the field
        come last, in insertion order)."""
        index = self._index(field)
        ordered = index if direction > 0 else index[::-1]
        page = [self.users[uid] for _, uid in ordered[start : start + count]]
        if len(page) < count:
            missing = [u for u in self.users.values() if u.get(field) is None]
            skip = max(0, start - len(index))
            page.extend(missing[skip : skip + count - len(page)])
        return len(self.users), page

    def _candidates(self, hint: Node | None) -> list[dict[str, Any]]:
        if isinstance(hint, Range):
            index = self._index(hint.field)
            low, high = self._bounds(index, hint)
            return [self.users[uid] for _, uid in index[low:high]]
        if isinstance(hint, Term) and hint.field == "user_id":
            user = self.users.get(hint.value)
            return [user] if user else []
        if isinstance(hint, Term) and hint.field in {"email", "username"}:
            return self.find(hint.field, hint.value)
        return list(self.users.values())

    def _sorted(self, users: list[dict[str, Any]], field: str, direction: int) -> list[dict]:
        present = [u for u in users if u.get(field) is not None]
        missing = [u for u in users if u.get(field) is None]
        present.sort(key=lambda u: (sort_key(u[field]), u["user_id"]), reverse=direction < 0)
        return present + missing

    # --- roles -----------------------------------------------------------------------

    def add_role(self, name: str, description: str | None = None) -> dict[str, Any]:
        with self.lock:
            if any(r["name"] == name for r in self.roles.values()):
                raise Conflict("Role already exists.")
            role: dict[str, Any] = {
                "id": self.random_id("rol_"),
                "name": name,
                "description": description,
            }
            self.roles[role["id"]] = role
            self.role_members[role["id"]] = set()
            return role

    def role_by_name(self, name: str) -> dict[str, Any] | None:
        with self.lock:
            return next((r for r in self.roles.values() if r["name"] == name), None)

    def delete_role(self, role_id: str) -> None:
        with self.lock:
            self.roles.pop(role_id, None)
            for user_id in self.role_members.pop(role_id, set()):
                self.user_roles.get(user_id, set()).discard(role_id)
            self._members_sorted.pop(role_id, None)

    def assign(self, user_id: str, role_ids: list[str]) -> None:
        with self.lock:
            for role_id in role_ids:
                self.role_members[role_id].add(user_id)
                self.user_roles.setdefault(user_id, set()).add(role_id)
                self._members_sorted.pop(role_id, None)

    def assign_many(self, role_id: str, user_ids: list[str]) -> None:
        with self.lock:
            self.role_members[role_id].update(user_ids)
            for user_id in user_ids:
                self.user_roles.setdefault(user_id, set()).add(role_id)
            self._members_sorted.pop(role_id, None)

    def unassign(self, user_id: str, role_ids: list[str]) -> None:
        with self.lock:
            for role_id in role_ids:
                self.role_members.get(role_id, set()).discard(user_id)
                self.user_roles.get(user_id, set()).discard(role_id)
                self._members_sorted.pop(role_id, None)

    def members_sorted(self, role_id: str) -> list[str]:
        """The role's member ids in a stable order (user_id), rebuilt only after a change."""
        with self.lock:
            members = self._members_sorted.get(role_id)
            if members is None:
                members = sorted(self.role_members.get(role_id, ()))
                self._members_sorted[role_id] = members
            return members

    def member_item(self, user_id: str) -> dict[str, Any]:
        user = self.users.get(user_id, {"user_id": user_id})
        return {k: user[k] for k in ROLE_MEMBER_FIELDS if k in user}

    def member_json(self, user_id: str) -> bytes:
        """member_item encoded, cached while the user is unchanged (pages stay cheap)."""
        user = self.users.get(user_id)
        cached = self._member_json.get(user_id)
        if cached is None or cached[0] is not user:
            cached = (user, _compact(self.member_item(user_id)).encode())
            self._member_json[user_id] = cached
        return cached[1]

    def roles_of(self, user_id: str) -> list[dict[str, Any]]:
        with self.lock:
            ids = self.user_roles.get(user_id, set())
            return sorted((self.roles[r] for r in ids if r in self.roles), key=lambda r: r["name"])

    # --- generated data ----------------------------------------------------------------

    def generate_users(self, n: int, *, seed: int, social_fraction: float) -> list[dict]:
        """`n` deterministic users (same seed and call order, same users); a fraction are
        google-oauth2 users without a username; ~2% blocked; timestamps in the past.
        Returns the stored dicts (never mutate them)."""
        with self.lock:
            start = self._generated
            rng = random.Random(f"{seed}:{start}")
            created = [
                self._generated_user(i, rng, social_fraction) for i in range(start, start + n)
            ]
            for user in created:
                if user["user_id"] in self.users:
                    raise Conflict(f"generated user id clash: {user['user_id']}")
                self.users[user["user_id"]] = user
            self._generated = start + n
            self._indexes.clear()
            self._index("updated_at")  # what incremental syncs ask for: built now, kept up to date
            for user in created:
                self._by_email.setdefault(user["email"], set()).add(user["user_id"])
                if "username" in user:
                    self._by_username.setdefault(user["username"], set()).add(user["user_id"])
            return created

    @staticmethod
    def _generated_user(i: int, rng: random.Random, social_fraction: float) -> dict[str, Any]:
        draw = rng.random
        social = draw() < social_fraction
        first, last = _FIRST[int(draw() * len(_FIRST))], _LAST[int(draw() * len(_LAST))]
        born = i * 60 + int(draw() * 60)
        changed = born + int(draw() * 86_400 * 30)
        if social:
            local_id = str(10**20 + int(draw() * 9 * 10**20))
            identity = {
                "connection": SOCIAL_CONNECTION,
                "provider": SOCIAL_CONNECTION,
                "user_id": local_id,
                "isSocial": True,
            }
            user_id = f"{SOCIAL_CONNECTION}|{local_id}"
        else:
            local_id = f"{rng.getrandbits(96):024x}"
            identity = {
                "connection": DB_CONNECTION,
                "provider": "auth0",
                "user_id": local_id,
                "isSocial": False,
            }
            user_id = f"auth0|{local_id}"
        email = f"{first.lower()}.{last.lower()}{i}@example.org"
        user: dict[str, Any] = {
            "user_id": user_id,
            "email": email,
            "email_verified": social or draw() < 0.8,
        }
        if not social:
            user["username"] = f"{first.lower()}{i}"
        user["name"] = f"{first} {last}"
        user["given_name"] = first
        user["family_name"] = last
        user["nickname"] = email.split("@")[0]
        user["picture"] = f"https://s.gravatar.com/avatar/{i:032x}?s=480&r=pg"
        user["identities"] = [identity]
        user["created_at"] = _generated_stamp(born)
        user["updated_at"] = _generated_stamp(changed)
        if draw() < 0.02:
            user["blocked"] = True
        return user


_DAYS: list[str] = []


def _generated_stamp(seconds: int) -> str:
    """`seconds` after 2021-01-01 as Auth0 writes it (milliseconds derived from seconds)."""
    day, rest = divmod(seconds, 86_400)
    while len(_DAYS) <= day:
        _DAYS.append((_GENERATED_EPOCH + timedelta(days=len(_DAYS))).strftime("%Y-%m-%dT"))
    hours, rest = divmod(rest, 3600)
    return f"{_DAYS[day]}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}.{seconds % 997 % 1000:03d}Z"
