"""Base request/response models shared by every service's API."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, PlainSerializer, Strict, field_validator
from pydantic_core import PydanticCustomError
from pydantic.networks import validate_email

T = TypeVar("T")

# An integer in a request body as the contract says: a JSON integer, never `false` or `12.0`
# coerced (pydantic's lax mode turns `[false]` into `[0]`); bounds are added where it is used.
StrictInt = Annotated[int, Strict()]
TermMonths = Annotated[int, Strict(), Field(ge=1, le=120, description="Months of a contract term.")]


@lru_cache(maxsize=8192)
def _normalised_email(value: str) -> str:
    """pydantic's `EmailStr` check (email-validator, no DNS), remembered per address: the same
    contacts file ticket after ticket, and the check is the costliest part of a ticket body."""
    return validate_email(value)[1]


class Email(EmailStr):  # type: ignore[misc,valid-type]
    """An e-mail address, validated, normalised and documented exactly as `EmailStr` does it."""

    @classmethod
    def _validate(cls, input_value: str, /) -> str:
        return _normalised_email(input_value)


# Characters XML 1.0 cannot carry (C0 controls but tab, LF, CR; lone surrogates; U+FFFE, U+FFFF):
# text holding one could be stored and numbered on an invoice whose KSeF XML can then never be
# written, or break a mail header. Refused, never stripped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(value: Any) -> Any:
    """`value` (a str, or a list of them) unchanged, or a validation error naming the character."""
    for text in (value if isinstance(value, list) else (value,)):
        if isinstance(text, str) and (bad := _NOT_XML.search(text)) is not None:
            raise PydanticCustomError("invalid_character", "contains the character U+{code}, which documents, "
                                      "e-mail and XML cannot carry", {"code": f"{ord(bad.group()):04X}"})
    return value


class StrictModel(BaseModel):
    """Request bodies: unknown fields are rejected (422 `unknown_field`), and no text field may
    hold a character XML cannot carry (422 naming the field)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _xml_safe_text(cls, value: Any) -> Any:
        return xml_safe(value)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` to get the next page.")


# Money in JSON: a string with exactly two decimals ("66.67"): exact, never a float.
MoneyStr = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json")]
NonNegativeMoney = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
