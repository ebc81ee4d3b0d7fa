"""Public identifiers: a short type prefix and a time-ordered random body (`ctr_01J…`).

Time-ordered ids keep B-tree inserts local and make cursor pagination by id meaningful.
"""

from __future__ import annotations

import base64
import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
# base64's RFC 4648 base32 digits, read as Crockford's: the encoding itself runs in C
_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())


def _b32(value: int, length: int) -> str:
    """`value` as `length` base32 digits, most significant first (value < 32**length)."""
    bits = length * 5
    size = (bits + 7) // 8
    encoded = base64.b32encode((value << (size * 8 - bits)).to_bytes(size, "big"))
    return encoded[:length].translate(_CROCKFORD).decode()


def new_id(prefix: str) -> str:
    """`prefix_` + 10 chars of milliseconds + 16 chars of randomness (ULID layout)."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_b32((millis << 80) | rand, 26)}"
