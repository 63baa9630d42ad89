"""AAI backend: the `aai` command and the services behind the portal API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("aai-backend")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
