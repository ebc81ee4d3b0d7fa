"""A Polish postal address as an invoice needs it (R-B10; FA(3)'s `AdresL1` street and `AdresL2`
postal code and city, neither empty): street, postal code `NN-NNN`, city. The shop may send it as
one line, `ul. Prosta 1, 00-850 Warszawa`; a line without a postal code and a city is refused at
purchase, since every invoice issued for it would fail the schema."""

from __future__ import annotations

import re
from dataclasses import dataclass

POSTAL_CODE = r"^\d{2}-\d{3}$"
_ONE_LINE = re.compile(r"^(?P<street>.*?\S)[,\s]+(?P<code>\d{2}-\d{3})\s+(?P<city>\S.*)$")


@dataclass(frozen=True)
class Address:
    street: str
    postal_code: str
    city: str

    def line(self) -> str:
        return f"{self.street}, {self.postal_code} {self.city}"


def parse_one_line(text: str) -> Address | None:
    """`…street…, NN-NNN City` as its parts, or None when it lacks one of them."""
    m = _ONE_LINE.match(text.strip())
    if m is None:
        return None
    street, city = m.group("street").strip(" ,"), m.group("city").strip()
    return Address(street, m.group("code"), city) if street and city else None
