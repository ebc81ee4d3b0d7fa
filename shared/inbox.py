"""The receiving side of the outbox: `POST /v1/events` applies each event at most once.

The inbox row and the handler's effects commit together; a repeated delivery finds the row
(or waits on its primary key while the first is in flight) and is acknowledged as a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Awaitable, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.infra_models import InboxEvent
from shared.uow import UnitOfWork


class EventEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=40)
    type: str = Field(min_length=1, max_length=100)
    source: str = Field(min_length=1, max_length=100)
    occurred_at: datetime
    subject: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("data")
    @classmethod
    def _storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        """U+0000 cannot be stored (PostgreSQL's text and jsonb refuse it): 422, not a 500."""
        if _holds_nul(value):
            raise PydanticCustomError("invalid_character", "contains the character U+0000, which no stored text "
                                      "can hold")
        return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


class EventReceipt(BaseModel):
    event_id: str
    outcome: Literal["applied", "ignored", "duplicate"]


Handler = Callable[[UnitOfWork, EventEnvelope], Awaitable[None]]


class Inbox:
    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}

    def handles(self, event_type: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.handlers[event_type] = fn
            return fn
        return register

    async def apply(self, uow: UnitOfWork, event: EventEnvelope) -> EventReceipt:
        seen = await uow.session.execute(select(InboxEvent.event_id).where(InboxEvent.event_id == event.id))
        if seen.first() is not None:
            return EventReceipt(event_id=event.id, outcome="duplicate")
        handler = self.handlers.get(event.type)
        outcome: Literal["applied", "ignored"] = "applied" if handler else "ignored"
        try:
            async with uow.session.begin_nested():
                uow.session.add(InboxEvent(event_id=event.id, event_type=event.type, source=event.source,
                                           outcome=outcome, received_at=uow.clock.now()))
                await uow.session.flush()
        except IntegrityError:
            return EventReceipt(event_id=event.id, outcome="duplicate")
        if handler is not None:
            await handler(uow, event)
        return EventReceipt(event_id=event.id, outcome=outcome)
