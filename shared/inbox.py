"""The receiving side of the outbox: `POST /v1/events` applies each event at most once.

The inbox row and the handler's effects commit together; a repeated delivery finds the row
(or waits on its primary key while the first is in flight) and is acknowledged as a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Awaitable, Callable, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.auth import Principal, require
from shared.errors import error_responses
from shared.infra_models import InboxEvent
from shared.roles import EVENTS_PUBLISH
from shared.uow import UoW, UnitOfWork


class EventEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=40)
    type: str = Field(min_length=1, max_length=100)
    source: str = Field(min_length=1, max_length=100)
    occurred_at: datetime
    subject: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


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

    def router(self) -> APIRouter:
        router = APIRouter(tags=["events"])

        @router.post("/v1/events", operation_id="receiveEvent",
                     response_model=EventReceipt, summary="Receive an event from another service",
                     description="Applies the event at most once (inbox). Unknown event types are acknowledged "
                                 "and ignored. Requires the `events:publish` scope (service tokens).",
                     responses=error_responses())
        async def receive_event(event: EventEnvelope, uow: UoW,
                                _: Annotated[Principal, Depends(require(EVENTS_PUBLISH))]) -> EventReceipt:
            return await self.apply(uow, event)

        return router
