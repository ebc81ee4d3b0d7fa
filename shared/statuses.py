"""Kinds both services speak: a contract's status (entitlements owns it, billing mirrors it from the events)
and how it is paid (R-B2). Values as stored and sent on the wire."""

from __future__ import annotations

from enum import StrEnum


class ContractStatus(StrEnum):
    """A contract's life (R-E1 expiry, R-E4 suspension, R-E5/R-E6 termination)."""

    PENDING_PAYMENT = "pending_payment"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    EXPIRED = "expired"


class PaymentMethod(StrEnum):
    CARD = "card"
    DIRECT_DEBIT = "direct_debit"
