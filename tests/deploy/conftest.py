"""Shared helpers for the deploy/ tests: paths, the CDK app's package on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
AWS_APP = DEPLOY / "aws"

if str(AWS_APP) not in sys.path:
    sys.path.insert(0, str(AWS_APP))


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    config.addinivalue_line(
        "markers", "slow: builds and installs the wheel (runs by default and in CI)"
    )
