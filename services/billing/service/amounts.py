"""Invoice arithmetic, pure (R-B9, R-B12): each line's net is quantity × unit net price and its
own VAT; the invoice's VAT is computed per rate on the net total of that rate, half-up to the
grosz, so the totals are exact and gross = net + VAT. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from shared.money import to_grosz

VAT_23 = 23


@dataclass(frozen=True)
class LineIn:
    name: str
    quantity: Decimal
    unit: str
    unit_net: Decimal
    vat_rate: int = VAT_23
    kind: str = "subscription"  # subscription | supplement | overage | correction
    source_id: str | None = None  # the usage record, price row or invoice line it comes from
    plan_id: str | None = None  # the plan whose fee (subscription) or upgrade (supplement) it bills


@dataclass(frozen=True)
class Line:
    position: int
    name: str
    quantity: Decimal
    unit: str
    unit_net: Decimal
    net: Decimal
    vat_rate: int
    vat: Decimal
    gross: Decimal
    kind: str
    source_id: str | None
    plan_id: str | None = None


@dataclass(frozen=True)
class RateSum:
    vat_rate: int
    net: Decimal
    vat: Decimal
    gross: Decimal


@dataclass(frozen=True)
class Amounts:
    lines: tuple[Line, ...]
    per_rate: tuple[RateSum, ...]
    net: Decimal
    vat: Decimal
    gross: Decimal


def rate_vat(net: Decimal, rate: int) -> Decimal:
    return to_grosz(net * Decimal(rate) / 100)


def compute(items: Iterable[LineIn]) -> Amounts:
    lines = []
    for n, item in enumerate(items, start=1):
        net = to_grosz(item.quantity * item.unit_net)
        tax = rate_vat(net, item.vat_rate)
        lines.append(Line(n, item.name, item.quantity, item.unit, item.unit_net, net, item.vat_rate, tax, net + tax,
                          item.kind, item.source_id, item.plan_id))
    per_rate = []
    for rate in sorted({line.vat_rate for line in lines}):
        net = sum((line.net for line in lines if line.vat_rate == rate), Decimal("0.00"))
        tax = rate_vat(net, rate)  # R-B12: on the rate's net total, not the sum of line VATs
        per_rate.append(RateSum(rate, net, tax, net + tax))
    net = sum((r.net for r in per_rate), Decimal("0.00"))
    tax = sum((r.vat for r in per_rate), Decimal("0.00"))
    return Amounts(tuple(lines), tuple(per_rate), net, tax, net + tax)
