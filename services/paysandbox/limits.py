"""How the sandbox pushes back like a real provider: a token-bucket rate limit on the API (429
with `Retry-After`), an optional delay before each answer, and what a test can read afterwards
(how many requests were throttled, the most create requests that were ever in flight at once).

The limit is off by default (`rate_limit = 0`); tests and `PAYSANDBOX_RATE_LIMIT` turn it on, and
`PUT /sandbox/limits` changes it while the sandbox runs. A throttled request is refused before
anything is looked at: no charge is created, so the caller may send it again under the same key.
"""

from __future__ import annotations

import asyncio
import math
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable

from pydantic import BaseModel, Field


class LimitsIn(BaseModel):
    rate_limit: float = Field(0.0, ge=0, le=10_000, description="requests per second; 0: unlimited")
    rate_burst: int = Field(10, ge=1, le=10_000, description="requests allowed at once before the rate applies")
    response_delay: float = Field(0.0, ge=0, le=30, description="seconds each API answer is held back")


@dataclass
class Limits:
    rate_limit: float = 0.0
    rate_burst: int = 10
    response_delay: float = 0.0
    clock: Callable[[], float] = time.monotonic
    throttled: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    _tokens: float = field(default=0.0, init=False)
    _filled_at: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.configure(LimitsIn(rate_limit=self.rate_limit, rate_burst=self.rate_burst,
                                response_delay=self.response_delay))

    def configure(self, limits: LimitsIn) -> None:
        self.rate_limit, self.rate_burst, self.response_delay = limits.rate_limit, limits.rate_burst, \
            limits.response_delay
        self._tokens, self._filled_at = float(limits.rate_burst), self.clock()
        self.throttled = self.max_in_flight = 0

    def take(self) -> int | None:
        """None when the request may go on; otherwise the whole seconds to wait (`Retry-After`)."""
        if self.rate_limit <= 0:
            return None
        now = self.clock()
        self._tokens = min(float(self.rate_burst), self._tokens + (now - self._filled_at) * self.rate_limit)
        self._filled_at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        self.throttled += 1
        return max(1, math.ceil((1 - self._tokens) / self.rate_limit))

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """Around one create: counts it in flight and holds the answer back `response_delay`."""
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.response_delay:
                await asyncio.sleep(self.response_delay)
            yield
        finally:
            self.in_flight -= 1

    def as_json(self) -> dict[str, float | int]:
        return {"rate_limit": self.rate_limit, "rate_burst": self.rate_burst, "response_delay": self.response_delay,
                "throttled": self.throttled, "max_in_flight": self.max_in_flight}
