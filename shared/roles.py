"""Roles are what people and systems are; scopes are what a token may do. Tokens carry scopes
(minted from a role); services check scopes only (DESIGN.md, Auth)."""

from __future__ import annotations

CATALOGUE_READ = "catalogue:read"
CATALOGUE_WRITE = "catalogue:write"
LICENCES_READ = "licences:read"
LICENCES_WRITE = "licences:write"
CONTRACTS_READ = "contracts:read"
CONTRACTS_WRITE = "contracts:write"  # purchases
CONTRACTS_UPGRADE = "contracts:upgrade"
CONTRACTS_MANAGE = "contracts:manage"  # life cycle: activate, suspend, resume, terminate, expire, transfer
ENTITLEMENTS_READ = "entitlements:read"
USAGE_WRITE = "usage:write"
DISPOSITIONS_READ = "dispositions:read"
DISPOSITIONS_WRITE = "dispositions:write"
EVENTS_PUBLISH = "events:publish"  # service-to-service event delivery (inbox)
TICKETS_READ = "tickets:read"
TICKETS_WRITE = "tickets:write"
TICKETS_MANAGE = "tickets:manage"
TICKETS_SUPERVISE = "tickets:supervise"
BILLING_READ = "billing:read"
BILLING_WRITE = "billing:write"
BILLING_ADMIN = "billing:admin"
WEBHOOKS_MANAGE = "webhooks:manage"

ALL_SCOPES = frozenset(v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str) and ":" in v)

_READ_ALL = {CATALOGUE_READ, LICENCES_READ, CONTRACTS_READ, ENTITLEMENTS_READ}
_AGENT = _READ_ALL | {TICKETS_READ, TICKETS_WRITE, TICKETS_MANAGE, USAGE_WRITE}

ROLE_SCOPES: dict[str, frozenset[str]] = {
    # A customer user: object-level checks restrict everything to its own customer_id.
    "customer": frozenset(_READ_ALL | {CONTRACTS_UPGRADE, DISPOSITIONS_WRITE, TICKETS_READ, TICKETS_WRITE, BILLING_READ}),
    "shop": frozenset(_READ_ALL | {LICENCES_WRITE, CONTRACTS_WRITE, CONTRACTS_UPGRADE, BILLING_READ, WEBHOOKS_MANAGE}),
    "crm": frozenset(_READ_ALL | {DISPOSITIONS_READ, DISPOSITIONS_WRITE, TICKETS_READ, TICKETS_WRITE, BILLING_READ,
                                  WEBHOOKS_MANAGE}),
    "agent": frozenset(_AGENT),
    "supervisor": frozenset(_AGENT | {TICKETS_SUPERVISE, DISPOSITIONS_READ}),
    "admin": frozenset(ALL_SCOPES - {EVENTS_PUBLISH}),
    "service": frozenset(_READ_ALL | {CONTRACTS_MANAGE, USAGE_WRITE, EVENTS_PUBLISH, TICKETS_READ, TICKETS_WRITE,
                                      BILLING_READ, BILLING_WRITE}),
}

ROLES = tuple(ROLE_SCOPES)
