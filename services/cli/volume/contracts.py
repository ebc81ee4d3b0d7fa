"""The contracts of the volume data, drawn once for every service's loader: billing's accounts
(billing.py) and entitlements' contracts (entitlements.py) describe the same contracts for the
same seed, so the two databases loaded side by side agree on every contract's plan, status,
term, payer and buyer.

The mix a reseller sees: Office 365 plans 60 % Standard, 30 % Advanced, 10 % Free (a zero fee),
10 % suspended, terms starting over the past year, card and direct-debit payers, one in twenty
with pending overage (R-B8). Contract ids are time-ordered like the platform's own. The draw
of a batch is seeded with `seed + start`, so a loader gets the same contracts only if it draws
the same batches (`start` a multiple of app.BATCH, as both loaders do).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator

PLANS = (("o365-standard", "Office 365 — Standard", 9900, 60), ("o365-advanced", "Office 365 — Advanced", 29900, 30),
         ("o365-free", "Office 365 — Free", 0, 10))
CARD_OK, IBAN_OK = "4242424242424242", "PL61109010140000071219812874"  # the payment sandbox's test instruments
TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)  # the loaders' created/updated instant
BUYER_NIP = "5260250274"


def contract_id(n: int) -> str:
    return f"ctr_vol{n:012d}"


def customer_id(n: int) -> str:
    return f"cust-vol-{n}"


@dataclass(frozen=True, slots=True)
class DrawnContract:
    """One contract as drawn; each loader writes it in its own database's representation."""

    n: int
    plan_id: str
    plan_name: str
    price_net: int  # grosze
    starts_on: date
    suspended: bool
    payment_method: str  # "card" | "direct_debit"
    overage: tuple[int, int] | None  # (remote-help minutes, days ago) waiting for the next invoice, R-B8

    @property
    def contract_id(self) -> str:
        return contract_id(self.n)

    @property
    def customer_id(self) -> str:
        return customer_id(self.n)

    @property
    def status(self) -> str:
        return "suspended" if self.suspended else "active"

    @property
    def ends_on(self) -> date:
        return self.starts_on + timedelta(days=365) - timedelta(days=1)

    @property
    def payment_instrument(self) -> str:
        return CARD_OK if self.payment_method == "card" else IBAN_OK

    def buyer(self) -> dict[str, Any]:
        """The buyer on the invoices (R-B10), in the key order billing stores it."""
        k = self.n
        return {"name": f"Klient {k} Sp. z o.o.", "nip": BUYER_NIP, "street": f"ul. Prosta {k % 200 + 1}",
                "postal_code": "00-850", "city": "Warszawa", "email": f"finance{k}@example.pl"}


def draw(n: int, *, seed: int = 4242, start: int = 0, today: date = TODAY) -> Iterator[DrawnContract]:
    """Contracts start..start+n-1. The order of the random draws is part of the data: changing it
    changes every loader's output (tests/entitlements/test_volume.py pins billing's)."""
    rng = random.Random(seed + start)
    weights = [p[3] for p in PLANS]
    for k in range(start, start + n):
        plan_id, plan_name, price, _ = rng.choices(PLANS, weights)[0]
        starts = today - timedelta(days=rng.randrange(0, 365))
        suspended = rng.random() < 0.10
        method = "card" if rng.random() < 0.7 else "direct_debit"
        overage = None
        if rng.random() < 0.05:
            minutes = rng.randrange(100, 6000)
            overage = (minutes, rng.randrange(1, 20))
        yield DrawnContract(k, plan_id, plan_name, price, starts, suspended, method, overage)
