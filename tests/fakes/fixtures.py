"""Pytest fixtures for the local Auth0 server (registered from tests/conftest.py)."""
