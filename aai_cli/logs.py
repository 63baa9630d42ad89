"""Stdlib logging: plain lines for people, JSON lines for containers (`LOG_FORMAT=json`).

Messages carry values taken from requests (paths, client addresses). In plain lines their
control characters are escaped (`\\x0a`), so a request cannot forge a log line or drive
the terminal; JSON lines escape them by construction.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TextIO

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators
_ESCAPES = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in (*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029)
}


def escape_controls(text: str) -> str:
    return text.translate(_ESCAPES)


class TextFormatter(logging.Formatter):
    """One line per record: control characters in the message are escaped."""

    def __init__(self, fmt: str = TEXT_FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)

    def formatMessage(self, record: logging.LogRecord) -> str:
        escaped = logging.makeLogRecord(
            {**vars(record), "message": escape_controls(record.message)}
        )
        return super().formatMessage(escaped)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(
            {
                k: v
                for k, v in vars(record).items()
                if k not in _STANDARD_ATTRS and not k.startswith("_")
            }
        )
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at emit time (test runners swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(*, debug: bool = False) -> None:
    """Configure the root logger once; reads LOG_FORMAT/LOG_LEVEL without validating others."""
    root = logging.getLogger()
    if getattr(root, "_aai_configured", False):
        return
    handler = _StderrHandler()
    if os.environ.get("LOG_FORMAT", "text").lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    level = "DEBUG" if debug else os.environ.get("LOG_LEVEL", "WARNING").upper()
    root.handlers = [handler]
    root.setLevel(level if level in logging.getLevelNamesMapping() else "WARNING")
    for noisy in ("httpx", "httpcore", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))
    root._aai_configured = True  # type: ignore[attr-defined]  # our marker on the root logger
