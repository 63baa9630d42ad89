"""The database itself: `migrations` (upgrade, downgrade, revisions and the schema check,
on the Alembic tree shipped in `migrations/`), `connectivity` (reaching the database and
turning its failures into one clear error) and `diagram` (the ER diagram)."""
