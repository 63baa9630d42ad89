"""The service layer shared by the CLI and the API. Imports neither typer/rich nor fastapi."""
