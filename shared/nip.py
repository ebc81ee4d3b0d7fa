"""Polish tax identification number (NIP) validation."""

from __future__ import annotations

import re

_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
_SEPARATORS = re.compile(r"[\s-]")


def normalize_nip(value: str) -> str:
    """Strip separators and an optional `PL` prefix; raise ValueError if not a valid NIP."""
    digits = _SEPARATORS.sub("", value.strip())
    if digits[:2].upper() == "PL":
        digits = digits[2:]
    if len(digits) != 10 or not digits.isdigit():
        raise ValueError("a NIP has 10 digits")
    checksum = sum(int(d) * w for d, w in zip(digits, _WEIGHTS)) % 11
    if checksum == 10 or checksum != int(digits[9]):
        raise ValueError("NIP checksum does not match")
    return digits
