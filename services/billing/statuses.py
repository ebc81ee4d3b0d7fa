"""The billing service's statuses and kinds: one `StrEnum` each, values as stored and sent on the wire."""

from __future__ import annotations

from enum import StrEnum

# shared with entitlements (billing mirrors the contract): re-exported so this service has one place for its kinds
from shared.statuses import ContractStatus as ContractStatus
from shared.statuses import PaymentMethod as PaymentMethod


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CORRECTION = "correction"  # a credit note (R-B10)


class InvoicePurpose(StrEnum):
    FIRST = "first"  # R-B1: paying it activates the contract
    PERIOD = "period"
    UPGRADE = "upgrade"  # R-B7: the supplement
    CORRECTION = "correction"


# the invoices that bill a month's fee
MONTHLY_FEE = (InvoicePurpose.PERIOD, InvoicePurpose.FIRST)


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CREDITED = "credited"
    ISSUED = "issued"  # a credit note's only status


UNPAID = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)


class LineKind(StrEnum):
    SUBSCRIPTION = "subscription"
    SUPPLEMENT = "supplement"  # R-B7
    OVERAGE = "overage"  # R-B8
    CORRECTION = "correction"


class Standing(StrEnum):
    """An account's dunning standing (R-B5, R-B6)."""

    GOOD = "good"
    OVERDUE = "overdue"
    TERMINABLE = "terminable"


class PriceState(StrEnum):
    """A price-schedule row: `pending` until the upgrade's supplement is paid (R-B7)."""

    PENDING = "pending"
    APPLIED = "applied"


class ChargeStatus(StrEnum):
    """scheduled → pending → succeeded | partially_paid | failed; unknown (no answer: reconciled
    with the provider before anything else); cancelled (nothing left to collect)."""

    SCHEDULED = "scheduled"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    PARTIALLY_PAID = "partially_paid"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"


class PaymentSource(StrEnum):
    PROVIDER = "provider"
    MANUAL = "manual"


class RunStatus(StrEnum):
    """A billing run (R-B11): `running` while any chunk waits, then `finished`."""

    RUNNING, FINISHED = "running", "finished"


class ChunkState(StrEnum):
    """A billing run's chunk: a range of contracts invoiced in one transaction by any replica."""

    PENDING, DONE = "pending", "done"
