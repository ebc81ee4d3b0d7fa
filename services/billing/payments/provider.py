"""The payment provider as the billing service sees it: a charge request, what the provider says
about a charge, a verified webhook event, and the `PaymentProvider` protocol that the HTTP client
(`http_provider.HttpPaymentProvider`) implements.

A charge's `status` is the provider's word, except `unknown`: the provider did not answer the
create request (timeout, connection error, 5xx), so the charge may or may not exist. The caller
then reconciles with `find_charge(idempotency_key)` or repeats the create under the same key;
it must never create a second charge under a new key.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Mapping, Protocol

ChargeStatus = Literal["pending", "succeeded", "partially_paid", "failed", "unknown"]
PaymentMethod = Literal["card", "direct_debit"]


@dataclass(frozen=True)
class ChargeRequest:
    idempotency_key: str
    amount: Decimal  # złoty (or the currency's unit) with at most two places
    currency: str
    method: PaymentMethod
    instrument: str  # card number (test PAN) or IBAN
    description: str
    reference: str  # our invoice id


@dataclass(frozen=True)
class Charge:
    id: str | None  # None when status is "unknown"
    idempotency_key: str
    status: ChargeStatus
    amount: Decimal
    amount_paid: Decimal
    failure_code: str | None


@dataclass(frozen=True)
class ProviderEvent:
    id: str  # the same on every delivery of one event: deduplicate on it
    type: str  # charge.succeeded | charge.partially_paid | charge.failed
    charge: Charge


class PaymentProviderError(Exception):
    """Base of the provider errors."""


class ProviderRejected(PaymentProviderError):
    """The provider refused the request (a 4xx): retrying it unchanged will not help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class ProviderUnavailable(PaymentProviderError):
    """The provider could not be asked (timeout, connection error, 5xx): try again later."""


class ProviderThrottled(ProviderUnavailable):
    """The provider refused the request for its rate limit (429) and did nothing: the same request
    may be sent again, under the same key, once `retry_after` seconds have passed."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"payment provider rate limit: retry after {retry_after:g} s")
        self.retry_after = retry_after


class InvalidWebhookSignature(PaymentProviderError):
    """A webhook whose signature is missing or wrong, or whose timestamp is outside tolerance."""


class PaymentProvider(Protocol):
    async def create_charge(self, request: ChargeRequest) -> Charge:
        """Starts a charge (normally `pending`). A timeout, connection error or 5xx gives status
        `unknown`, never an exception; a 429 raises `ProviderThrottled` (nothing was created);
        any other 4xx raises `ProviderRejected`."""

    async def find_charge(self, idempotency_key: str) -> Charge | None:
        """What the provider knows under our key, None if nothing; raises `ProviderUnavailable`
        (`ProviderThrottled` for a 429) when it cannot tell."""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderEvent:
        """Verifies the Standard Webhooks signature and timestamp tolerance, then parses the
        event; raises `InvalidWebhookSignature`."""

    async def aclose(self) -> None:
        """Releases the connections."""
