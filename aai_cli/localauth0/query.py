"""The subset of Auth0's user search syntax (search engine v3, Lucene-like) the local Auth0
understands: `field:value`, `field:"exact phrase"`, `field:val*` wildcards, ranges
`[a TO b]`, `{a TO b}`, mixed and open (`*`) bounds, partial dates (`2017-11`),
`_exists_:field`, `AND`, `OR`, `NOT`, parentheses, and free text. Adjacent terms without an
operator are ANDed; free text (no field) is a case-insensitive substring match over user_id,
email, name, nickname and username. `email`, `name`, `given_name`, `family_name`, `nickname` match
case-insensitively, everything else case-sensitively (as Auth0 documents).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CASE_INSENSITIVE = {"email", "name", "given_name", "family_name", "nickname", "email.domain"}
DATE_FIELDS = {"created_at", "updated_at", "last_login", "last_password_reset"}
FREE_TEXT_FIELDS = ("user_id", "email", "name", "nickname", "username")
_FIELD = re.compile(r"[A-Za-z_][\w.]*(?=:)")
_FLOOR = "0000-01-01T00:00:00.000Z"
_CEIL = "9999-12-31T23:59:59.999Z"
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d{1,3})?)?)?)?)?)?Z?$")


class QueryError(ValueError):
    """The query cannot be parsed: Auth0 answers 400."""


def field_values(user: dict[str, Any], path: str) -> list[Any]:
    """Every value at a dotted path (lists fan out); `email.domain` is the email's domain."""
    if path == "email.domain":
        email = user.get("email")
        return [email.rsplit("@", 1)[-1]] if isinstance(email, str) and "@" in email else []
    current: list[Any] = [user]
    for part in path.split("."):
        nxt: list[Any] = []
        for item in current:
            items = item if isinstance(item, list) else [item]
            nxt.extend(i[part] for i in items if isinstance(i, dict) and part in i)
        current = nxt
    flat: list[Any] = []
    for value in current:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def normalise_date(text: str, *, upper: bool) -> str:
    """A (partial) ISO date as Auth0's `YYYY-MM-DDTHH:MM:SS.mmmZ`; a partial date stands for
    the start of its period, or its end when `upper`."""
    if _PARTIAL_DATE.match(text):
        bare = text.rstrip("Z")
        if "." in bare:
            bare = bare.split(".")[0] + "." + bare.split(".")[1].ljust(3, "0")
        pad = _CEIL if upper else _FLOOR
        return bare + pad[len(bare) :]
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"invalid date in range: {text}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Node:
    def match(self, user: dict[str, Any]) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class Term(Node):
    field: str | None
    value: str
    phrase: bool = False

    def __post_init__(self) -> None:
        self.insensitive = self.field is None or self.field in CASE_INSENSITIVE
        text = self.value.lower() if self.insensitive else self.value
        self.wildcard = "*" in text and not self.phrase
        if self.wildcard:
            pattern = ".*".join(re.escape(part) for part in text.split("*"))
            self._regex: re.Pattern[str] | None = re.compile(f"^{pattern}$", re.DOTALL)
        else:
            self._regex = None
        self._text = text

    def _hit(self, value: Any) -> bool:
        text = as_text(value)
        if self.insensitive:
            text = text.lower()
        if self._regex:
            return bool(self._regex.match(text))
        return self._text in text if self.field is None else text == self._text

    def match(self, user: dict[str, Any]) -> bool:
        fields = [self.field] if self.field else list(FREE_TEXT_FIELDS)
        return any(self._hit(v) for f in fields for v in field_values(user, f))


@dataclass
class Exists(Node):
    field: str

    def match(self, user: dict[str, Any]) -> bool:
        return bool(field_values(user, self.field))


@dataclass
class Range(Node):
    field: str
    low: str | None
    low_inclusive: bool
    high: str | None
    high_inclusive: bool

    def __post_init__(self) -> None:
        self.is_date = self.field in DATE_FIELDS
        if self.is_date:
            # An exclusive lower bound or an inclusive upper one rounds up to the period's end.
            if self.low is not None:
                self.low = normalise_date(self.low, upper=not self.low_inclusive)
            if self.high is not None:
                self.high = normalise_date(self.high, upper=self.high_inclusive)

    def accepts(self, value: Any) -> bool:
        key: Any = value
        low: Any = self.low
        high: Any = self.high
        if not self.is_date:
            try:
                key = float(value)
                low = None if low is None else float(low)
                high = None if high is None else float(high)
            except (TypeError, ValueError):
                key, low, high = as_text(value), self.low, self.high
        if low is not None and (key < low or (key == low and not self.low_inclusive)):
            return False
        return not (high is not None and (key > high or (key == high and not self.high_inclusive)))

    def match(self, user: dict[str, Any]) -> bool:
        return any(self.accepts(v) for v in field_values(user, self.field) if v is not None)


@dataclass
class And(Node):
    children: list[Node]

    def match(self, user: dict[str, Any]) -> bool:
        return all(c.match(user) for c in self.children)


@dataclass
class Or(Node):
    children: list[Node]

    def match(self, user: dict[str, Any]) -> bool:
        return any(c.match(user) for c in self.children)


@dataclass
class Not(Node):
    child: Node

    def match(self, user: dict[str, Any]) -> bool:
        return not self.child.match(user)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> Node:
        node = self._or()
        self._skip_ws()
        if self.pos < len(self.text):
            raise QueryError(f"unexpected input at {self.pos}: {self.text[self.pos :]!r}")
        return node

    def _skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _keyword(self, word: str) -> bool:
        self._skip_ws()
        end = self.pos + len(word)
        if self.text[self.pos : end] == word and (
            end == len(self.text) or self.text[end].isspace() or self.text[end] == "("
        ):
            self.pos = end
            return True
        return False

    def _at_end_of_group(self) -> bool:
        self._skip_ws()
        return self.pos >= len(self.text) or self.text[self.pos] == ")"

    def _or(self) -> Node:
        children = [self._and()]
        while self._keyword("OR"):
            children.append(self._and())
        return children[0] if len(children) == 1 else Or(children)

    def _and(self) -> Node:
        children = [self._not()]
        while not self._at_end_of_group():
            save = self.pos
            if self._keyword("OR"):
                self.pos = save
                break
            self._keyword("AND")
            children.append(self._not())
        return children[0] if len(children) == 1 else And(children)

    def _not(self) -> Node:
        if self._keyword("NOT"):
            return Not(self._not())
        self._skip_ws()
        if self.text.startswith("-", self.pos):
            self.pos += 1
            return Not(self._not())
        return self._primary()

    def _primary(self) -> Node:
        self._skip_ws()
        if self.pos >= len(self.text):
            raise QueryError("unexpected end of query")
        if self.text[self.pos] == "(":
            self.pos += 1
            node = self._or()
            self._skip_ws()
            if not self.text.startswith(")", self.pos):
                raise QueryError("unbalanced parentheses")
            self.pos += 1
            return node
        match = _FIELD.match(self.text, self.pos)
        if match is None:
            value, phrase = self._value()
            return Term(None, value, phrase)
        field = match.group(0)
        self.pos = match.end() + 1
        if self.pos < len(self.text) and self.text[self.pos] in "[{":
            return self._range(field)
        value, phrase = self._value()
        if field == "_exists_":
            return Exists(value)
        return Term(field, value, phrase)

    def _value(self) -> tuple[str, bool]:
        if self.text.startswith('"', self.pos):
            end = self.text.find('"', self.pos + 1)
            if end < 0:
                raise QueryError("unterminated phrase")
            value = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return value, True
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                chars.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char.isspace() or char in ")]}":
                break
            chars.append(char)
            self.pos += 1
        if not chars:
            raise QueryError(f"expected a value at {self.pos}")
        return "".join(chars), False

    def _range(self, field: str) -> Range:
        low_inclusive = self.text[self.pos] == "["
        self.pos += 1
        self._skip_ws()
        low, _ = self._value()
        if not self._keyword("TO"):
            raise QueryError("expected TO in range")
        self._skip_ws()
        high, _ = self._value()
        self._skip_ws()
        if self.pos >= len(self.text) or self.text[self.pos] not in "]}":
            raise QueryError("unterminated range")
        high_inclusive = self.text[self.pos] == "]"
        self.pos += 1
        return Range(
            field,
            None if low == "*" else low,
            low_inclusive,
            None if high == "*" else high,
            high_inclusive,
        )


def parse_query(text: str) -> Node:
    return _Parser(text).parse()


def index_hint(node: Node) -> Node | None:
    """A sub-condition every match must satisfy that an index can answer (a range or an
    exact term on an indexed field), or None: the planner then scans every user."""
    if isinstance(node, Range | Term) and _indexable(node):
        return node
    if isinstance(node, And):
        hints = [c for c in node.children if isinstance(c, Range | Term) and _indexable(c)]
        exact = [h for h in hints if isinstance(h, Term)]
        return (exact or hints or [None])[0]
    return None


def _indexable(node: Node) -> bool:
    if isinstance(node, Range):
        return node.field in DATE_FIELDS
    if isinstance(node, Term):
        return node.field in {"user_id", "email", "username"} and not node.wildcard
    return False
