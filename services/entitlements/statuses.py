"""The entitlements service's statuses and kinds: one `StrEnum` each, values as stored and sent on the wire."""

from __future__ import annotations

from enum import StrEnum

# shared with billing, which mirrors the contract: re-exported so this service has one place for its kinds
from shared.statuses import ContractStatus as ContractStatus
from shared.statuses import PaymentMethod as PaymentMethod


class ContractMode(StrEnum):
    ADDON = "addon"  # R-E2: the licence is bought in the same order
    STANDALONE = "standalone"


class TerminationReason(StrEnum):
    PAYMENT_OVERDUE = "payment_overdue"
    CUSTOMER_BREACH = "customer_breach"
    SELLER_BREACH = "seller_breach"
    TERMS_CHANGE_CUSTOMER = "terms_change_customer"
    TERMS_CHANGE_SELLER = "terms_change_seller"
    MUTUAL = "mutual"
    OTHER = "other"


class UpgradeStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    APPLIED = "applied"


class EntitlementSource(StrEnum):
    CONTRACT = "contract"
    FREE_PLAN = "free_plan"


class EntitlementStatus(StrEnum):
    ACTIVE = "active"
    FREE = "free"


class DispositionInstruction(StrEnum):
    """R-E9: what the customer asked for their personal data."""

    RETURN = "return"
    DELETE = "delete"


LIVE_STATUSES = (ContractStatus.PENDING_PAYMENT, ContractStatus.ACTIVE, ContractStatus.SUSPENDED)
