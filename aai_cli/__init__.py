"""AAI backend: the `aai` command and the services behind the portal API."""

from __future__ import annotations

from functools import cache


@cache
def _installed_version() -> str:
    # importlib.metadata costs ~80 ms to import: only paid when the version is asked for.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aai-backend")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
