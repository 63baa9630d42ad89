"""The sync: the database mirrors the Auth0 tenant's users and access roles.

`run_sync` (in `runner`) is the one entry point, behind `aai sync` and the scheduler;
`users` (the export or incremental walk), `memberships` (role members to memberships)
and the shared `services.bulk` writes its batches.
"""

from aai_cli.services.sync.runner import Mode, Progress, SyncReport, run_sync, sync_status

__all__ = ["Mode", "Progress", "SyncReport", "run_sync", "sync_status"]
