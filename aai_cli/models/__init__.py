"""The SQLModel tables. Importing this package registers every table on the metadata."""

from aai_cli.models import derived
from aai_cli.models.access import (
    TARGET_TABLES,
    GroupMembership,
    Kind,
    MembershipEvent,
    MembershipState,
    PlatformMembership,
    Target,
    TargetTables,
)
from aai_cli.models.accounts import EmailChangeCode, IdentityEvent, identity_event_row
from aai_cli.models.actions import SessionTokenUse, WelcomeEmail
from aai_cli.models.base import (
    MEMBERSHIP_STATUSES,
    NAMING_CONVENTION,
    REGISTRATION_ACTOR,
    SYNC_ACTOR,
    SQLModel,
    table_of,
)
from aai_cli.models.catalog import (
    GROUP_PREFIX,
    Group,
    GroupAdminRole,
    GroupPlatform,
    Platform,
    PlatformAdminRole,
)
from aai_cli.models.identity import Role, User
from aai_cli.models.outbox import EmailMessage, RoleChange
from aai_cli.models.ratelimits import RateLimitState
from aai_cli.models.registration import RegistrationRecord
from aai_cli.models.runs import JobRun, SyncRun, SyncState
from aai_cli.models.types import UTCDateTime, utcnow

metadata = SQLModel.metadata
derived.register(metadata)

__all__ = [
    "GROUP_PREFIX",
    "MEMBERSHIP_STATUSES",
    "NAMING_CONVENTION",
    "REGISTRATION_ACTOR",
    "SYNC_ACTOR",
    "TARGET_TABLES",
    "EmailChangeCode",
    "EmailMessage",
    "Group",
    "GroupAdminRole",
    "GroupMembership",
    "GroupPlatform",
    "IdentityEvent",
    "JobRun",
    "Kind",
    "MembershipEvent",
    "MembershipState",
    "Platform",
    "PlatformAdminRole",
    "PlatformMembership",
    "RateLimitState",
    "RegistrationRecord",
    "Role",
    "RoleChange",
    "SQLModel",
    "SessionTokenUse",
    "SyncRun",
    "SyncState",
    "Target",
    "TargetTables",
    "UTCDateTime",
    "User",
    "WelcomeEmail",
    "identity_event_row",
    "metadata",
    "table_of",
    "utcnow",
]
