"""The rules of webhook endpoints that need no I/O: secrets, URLs, event patterns, and what a
failed attempt leads to (retry later, or fail the delivery and disable the endpoint)."""

from __future__ import annotations

import base64
import fnmatch
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence
from urllib.parse import urlsplit

from shared.outbox import RelayPolicy
from shared.settings import WEBHOOK_SECRET_PREFIX

SECRET_BYTES = 24  # Standard Webhooks: 24 to 64 random bytes
MAX_URL_LENGTH = 2000
MAX_PATTERNS = 50
MAX_PATTERN_LENGTH = 100
_PATTERN = re.compile(r"^[a-z_.*]+$")


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and the base64 of 24 random bytes."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


# ---- URLs -----------------------------------------------------------------------------------------


def url_problem(url: str) -> str | None:
    """Why `url` cannot be an endpoint anywhere (None: it can): an absolute http(s) URL with a
    host, no credentials, no fragment, at most 2000 characters."""
    if len(url) > MAX_URL_LENGTH:
        return f"at most {MAX_URL_LENGTH} characters"
    if any(c.isspace() for c in url):
        return "no white space"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "an absolute http or https URL with a host"
    if parts.username is not None or parts.password is not None:
        return "no credentials in the URL (the signature authenticates the sender)"
    if parts.fragment:
        return "no fragment"
    return None


def production_url_problem(url: str) -> tuple[str, str] | None:
    """In production, an endpoint must use https and name a public host: (code, why), or None."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "webhook_url_not_https", "a webhook endpoint must use https in production"
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "webhook_url_not_public", "a webhook endpoint must not point at this machine"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: resolved when sending
    if not address.is_global:
        return "webhook_url_not_public", f"a webhook endpoint must not point at a non-public address ({address})"
    return None


# ---- event patterns ---------------------------------------------------------------------------------


def pattern_problem(patterns: Sequence[str]) -> str | None:
    """Why a list of event patterns is not acceptable (None: it is)."""
    if not patterns:
        return "name at least one event pattern, e.g. `ticket.*`"
    if len(patterns) > MAX_PATTERNS:
        return f"at most {MAX_PATTERNS} patterns"
    for pattern in patterns:
        if not pattern or len(pattern) > MAX_PATTERN_LENGTH or not _PATTERN.match(pattern):
            return (f"{pattern!r} is not an event pattern: lower-case letters, `_`, `.` and the wildcard `*` "
                    f"(e.g. `ticket.*`, `invoice.paid`), at most {MAX_PATTERN_LENGTH} characters")
    return None


def normalised_patterns(patterns: Iterable[str]) -> list[str]:
    """Duplicates dropped, order kept."""
    return list(dict.fromkeys(patterns))


def matches(event_type: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


# ---- retries ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one failed attempt leads to: a retry at `retry_at`, or (None) the end of the budget."""

    retry_at: datetime | None

    @property
    def exhausted(self) -> bool:
        return self.retry_at is None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_base: float
    backoff_max: float

    def after_failure(self, budget_used: int, now: datetime) -> Outcome:
        """`budget_used` attempts (this one included) have failed since the delivery was created
        or replayed: retry with the outbox's full-jitter exponential backoff, or give up."""
        if budget_used >= self.max_attempts:
            return Outcome(None)
        return Outcome(now + self._backoff(budget_used))

    def _backoff(self, attempts: int) -> timedelta:
        return RelayPolicy(backoff_base=self.backoff_base, backoff_max=self.backoff_max).backoff(attempts)


def disabled_reason(delivery_id: str, event_type: str, attempts: int, last: str) -> str:
    return f"delivery {delivery_id} ({event_type}) failed {attempts} attempts in a row; last: {last}"[:1000]


MANUALLY_DISABLED = "disabled through the API"
