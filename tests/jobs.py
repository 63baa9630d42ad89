"""The default scheduler jobs, written out once for the tests that expect them."""

DEFAULT_JOB_NAMES = [
    "sync-incremental",
    "sync-full",
    "auth0-outbox",
    "email-outbox",
    "registrations",
    "codes",
    "cleanup",
]
