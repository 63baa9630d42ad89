"""Account management: identity changes made in Auth0 first, then mirrored here with a
history row, for the API's profile and admin routes and the `aai users` commands alike.

Each change owns its transactions (none is open while Auth0 answers; see `steps`):
`identity` (rename, set_email, update_name, change_password, send_password_reset),
`codes` (the email change confirmed by a one-time code, and pruning the codes),
`deletion` (delete, delete_invalid_email, restore), `history` (the identity history and
the usernames and emails it keeps reserved), `results` (what a change returns and the
errors it raises). This package may use `auth0`, `email`, `directory` and `access`;
none of them uses it.
"""

from aai_cli.services.accounts.codes import (
    CodeSent,
    confirm_email_change,
    prune_codes,
    start_email_change,
)
from aai_cli.services.accounts.deletion import delete, delete_invalid_email, restore
from aai_cli.services.accounts.history import event_dict, list_identity_history
from aai_cli.services.accounts.identity import (
    change_password,
    rename,
    send_password_reset,
    set_email,
    update_name,
)
from aai_cli.services.accounts.results import AccountChange

__all__ = [
    "AccountChange",
    "CodeSent",
    "change_password",
    "confirm_email_change",
    "delete",
    "delete_invalid_email",
    "event_dict",
    "list_identity_history",
    "prune_codes",
    "rename",
    "restore",
    "send_password_reset",
    "set_email",
    "start_email_change",
    "update_name",
]
