"""Email: `delivery` queues and renders messages (the outbox) and delivers them later
through the private `backends` (console or SMTP). Which email a change sends is decided
by its service (for access decisions, `access.notifications`)."""
