"""What the sandbox accepts and how each test instrument settles.

Validation (a failure is a 422 `{error, detail}` and creates nothing):

- `amount`: a positive decimal string with at most two places ("10", "10.5", "10.50");
- `currency`: three capital letters;
- card `instrument`: 16 digits passing the Luhn check (`invalid_card_number` otherwise);
- direct-debit `instrument`: `PL` and 26 digits passing the ISO 13616 mod-97 check, no spaces
  (`invalid_iban` otherwise).

Scenarios, settled `processing_delay` seconds after the create:

| method       | instrument                     | outcome                                            |
|--------------|--------------------------------|----------------------------------------------------|
| card         | `4242424242424242`             | `succeeded`                                        |
| card         | `4000000000009995`             | `failed`, `insufficient_funds`                     |
| card         | `4000000000000069`             | `failed`, `expired_card`                           |
| card         | `4000000000000119`             | no answer: the charge is created and later         |
|              |                                | `succeeded`, but the first create response is      |
|              |                                | withheld `no_answer_delay` seconds (the client     |
|              |                                | times out and must reconcile by idempotency key;   |
|              |                                | a replay of the key answers at once)               |
| direct_debit | `PL61109010140000071219812874` | `succeeded`                                        |
| direct_debit | `PL27114020040000300201355387` | `failed`, `insufficient_funds`                     |
| direct_debit | `PL83101010230000261395100000` | `partially_paid`: half the amount, rounded down    |
|              |                                | to the grosz                                       |
| either       | any other valid card or IBAN   | `succeeded`                                        |

Each settlement emits one event: `charge.succeeded`, `charge.failed` or `charge.partially_paid`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Literal

_AMOUNT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_PAN = re.compile(r"[0-9]{16}")
_PL_IBAN = re.compile(r"PL[0-9]{26}")
GROSZ = Decimal("0.01")


class InvalidCharge(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class Scenario:
    status: Literal["succeeded", "failed", "partially_paid"] = "succeeded"
    failure_code: str | None = None
    no_answer: bool = False

    def amount_paid(self, amount: Decimal) -> Decimal:
        if self.status == "succeeded":
            return amount
        if self.status == "partially_paid":
            return (amount / 2).quantize(GROSZ, rounding=ROUND_DOWN)
        return Decimal("0.00")


SCENARIOS: dict[str, Scenario] = {
    "4242424242424242": Scenario(),
    "4000000000009995": Scenario("failed", "insufficient_funds"),
    "4000000000000069": Scenario("failed", "expired_card"),
    "4000000000000119": Scenario(no_answer=True),
    "PL61109010140000071219812874": Scenario(),
    "PL27114020040000300201355387": Scenario("failed", "insufficient_funds"),
    "PL83101010230000261395100000": Scenario("partially_paid"),
}


def scenario_for(instrument: str) -> Scenario:
    return SCENARIOS.get(instrument, Scenario())


def parse_amount(text: str) -> Decimal:
    if not _AMOUNT.fullmatch(text) or Decimal(text) <= 0:
        raise InvalidCharge("invalid_amount", "amount must be a positive decimal string with at most two places")
    return Decimal(text).quantize(GROSZ)


def check_currency(currency: str) -> None:
    if not _CURRENCY.fullmatch(currency):
        raise InvalidCharge("invalid_currency", "currency must be an ISO 4217 code such as PLN")


def check_instrument(method: str, instrument: str) -> None:
    if method == "card" and not (_PAN.fullmatch(instrument) and luhn_valid(instrument)):
        raise InvalidCharge("invalid_card_number", "card number must be 16 digits passing the Luhn check")
    if method == "direct_debit" and not (_PL_IBAN.fullmatch(instrument) and iban_valid(instrument)):
        raise InvalidCharge("invalid_iban", "IBAN must be PL and 26 digits passing the mod-97 check")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1
