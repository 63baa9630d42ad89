"""Reading an operator's input file, with one clear error for each way it can fail."""

from __future__ import annotations

from pathlib import Path

from aai_cli.errors import InvalidInput, NotFound


def read_text(path: Path, *, what: str = "", encoding: str = "utf-8") -> str:
    """The file's text; `what` names the file in the errors ("catalog file")."""
    try:
        return path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise NotFound(f"{what or 'file'} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {what + ' ' if what else ''}{path}: {exc}") from None
