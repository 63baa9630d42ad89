"""One Typer sub-app per module. Only typer is imported at module level."""
