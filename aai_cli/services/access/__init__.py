"""Who may use what: the catalog and its access decisions.

Public modules: `memberships` (the guarded transitions, the one place decisions are
made), `results` (what a transition did), `notifications` (which email a decision
sends), `catalog` (platforms and groups, seeded from YAML), `scopes` (what an admin
administers), `profile` (the `/me` views and requests), `registration` (self-service
sign-up, with `registration_records` finishing it after a failure and
`registration_rules` validating its fields), `institutions` (institutional email rules),
`imports` (decisions in bulk from a file) and `role_outbox` (role changes pushed to
Auth0 after commit).
"""
