"""The inbox's route: `POST /v1/events`, applied at most once (shared/inbox.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from shared.auth import Principal
from shared.errors import error_responses
from shared.inbox import EventReceipt, EventEnvelope, Inbox
from shared.roles import EVENTS_PUBLISH
from shared.web.auth import require
from shared.web.uow import UoW


def inbox_router(inbox: Inbox) -> APIRouter:
    router = APIRouter(tags=["events"])

    @router.post("/v1/events", operation_id="receiveEvent",
                 response_model=EventReceipt, summary="Receive an event from another service",
                 description="Applies the event at most once (inbox). Unknown event types are acknowledged "
                             "and ignored. Requires the `events:publish` scope (service tokens).",
                 responses=error_responses())
    async def receive_event(event: EventEnvelope, uow: UoW,
                            _: Annotated[Principal, Depends(require(EVENTS_PUBLISH))]) -> EventReceipt:
        return await inbox.apply(uow, event)

    return router
