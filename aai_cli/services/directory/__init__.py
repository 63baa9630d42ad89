"""The user directory: who is here, what they have, what waits for a decision.

Callers use this surface; the modules behind it are private to the package:
`filters` (query parameters and admin scope to SQL), `lookup` (resolving a user, platform
or group from what a person typed), `query` (pages, counts, records, history) and
`queue` (pending requests and status counts).
"""

from aai_cli.services.directory.filters import SORT_KEYS, AdminScope, UserQuery
from aai_cli.services.directory.lookup import (
    close_user_matches,
    filter_options,
    in_identity_history,
    resolve_group,
    resolve_platform,
    resolve_target,
    resolve_user,
)
from aai_cli.services.directory.query import (
    UserRecord,
    badge_counts,
    count_users,
    get_user_record,
    iter_users,
    list_history,
    list_page,
    list_users,
    updated_by,
)
from aai_cli.services.directory.queue import PendingRequest, list_pending, status_counts

__all__ = [
    "SORT_KEYS",
    "AdminScope",
    "PendingRequest",
    "UserQuery",
    "UserRecord",
    "badge_counts",
    "close_user_matches",
    "count_users",
    "filter_options",
    "get_user_record",
    "in_identity_history",
    "iter_users",
    "list_history",
    "list_page",
    "list_pending",
    "list_users",
    "resolve_group",
    "resolve_platform",
    "resolve_target",
    "resolve_user",
    "status_counts",
    "updated_by",
]
