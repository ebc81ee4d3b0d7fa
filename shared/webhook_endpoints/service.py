"""The rules of managing webhook endpoints: who sees which, what may be registered, and what
enabling, disabling and replaying do to deliveries. No FastAPI here; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.clock import Clock
from shared.ids import new_id
from shared.queries import KeysetPage, found
from shared.settings import ServiceSettings
from shared.webhook_endpoints import repository as repo
from shared.webhook_endpoints.errors import DeliveryNotFound, EndpointNotFound, WebhookUrlNotHttps, WebhookUrlNotPublic
from shared.webhook_endpoints.fanout import Routing
from shared.webhook_endpoints.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from shared.webhook_endpoints.policy import MANUALLY_DISABLED, new_secret, production_url_problem
from shared.webhook_endpoints.schemas import WebhookEndpointIn, WebhookEndpointPatch

ADMIN_ROLE = "admin"


def sees_all(principal: Principal) -> bool:
    """Admins see every endpoint; anyone else only those it registered (others' are 404)."""
    return ADMIN_ROLE in principal.roles


@dataclass
class Changed:
    endpoint: WebhookEndpoint
    released: bool  # held deliveries became due: wake the dispatcher after commit


class EndpointService:
    def __init__(self, session: AsyncSession, clock: Clock, settings: ServiceSettings, routing: Routing) -> None:
        self.session, self.clock, self.settings, self.routing = session, clock, settings, routing

    def _check_url(self, url: str) -> None:
        if self.settings.environment != "production":
            return
        problem = production_url_problem(url)
        if problem is not None:
            code, why = problem
            raise (WebhookUrlNotHttps if code == WebhookUrlNotHttps.code else WebhookUrlNotPublic)(why)

    async def create(self, body: WebhookEndpointIn, principal: Principal) -> WebhookEndpoint:
        self._check_url(body.url)
        now = self.clock.now()
        endpoint = WebhookEndpoint(id=new_id("whe"), owner=principal.sub, url=body.url, events=body.events,
                                   description=body.description, secret=new_secret(), status="enabled",
                                   consecutive_failures=0, created_at=now, updated_at=now)
        self.session.add(endpoint)
        await self.session.flush()
        self.routing.endpoint_registered()  # this replica fans out from now on
        return endpoint

    async def visible(self, endpoint_id: str, principal: Principal, *, for_update: bool = False) -> WebhookEndpoint:
        return found(await repo.endpoint(self.session, endpoint_id, for_update=for_update),
                     EndpointNotFound(f"webhook endpoint {endpoint_id} not found"),
                     visible=lambda e: sees_all(principal) or e.owner == principal.sub)

    async def listing(self, principal: Principal, *, after: str | None, limit: int) -> KeysetPage[WebhookEndpoint]:
        return await repo.endpoints(self.session, owner=None if sees_all(principal) else principal.sub, after=after,
                                    limit=limit)

    async def change(self, endpoint_id: str, patch: WebhookEndpointPatch, principal: Principal) -> Changed:
        endpoint = await self.visible(endpoint_id, principal, for_update=True)
        given = patch.model_fields_set
        now = self.clock.now()
        if "url" in given and patch.url is not None:
            self._check_url(patch.url)
            endpoint.url = patch.url
        if "events" in given and patch.events is not None:
            endpoint.events = patch.events
        if "description" in given:
            endpoint.description = patch.description
        released = False
        if patch.enabled is True and endpoint.status == "disabled":
            endpoint.status, endpoint.disabled_reason, endpoint.disabled_at = "enabled", None, None
            endpoint.consecutive_failures = 0
            await self.session.flush()
            await repo.release_held(self.session, endpoint.id, now)
            released = True
        elif patch.enabled is False and endpoint.status == "enabled":
            endpoint.status, endpoint.disabled_reason, endpoint.disabled_at = "disabled", MANUALLY_DISABLED, now
            await self.session.flush()
            await repo.hold_pending(self.session, endpoint.id)
        endpoint.updated_at = now
        await self.session.flush()
        return Changed(endpoint, released)

    async def delete(self, endpoint_id: str, principal: Principal) -> None:
        """The endpoint and its deliveries log."""
        endpoint = await self.visible(endpoint_id, principal, for_update=True)
        await self.session.delete(endpoint)
        await self.session.flush()

    async def rotate_secret(self, endpoint_id: str, principal: Principal) -> WebhookEndpoint:
        """A new secret signs every attempt from now on, retries of earlier events included."""
        endpoint = await self.visible(endpoint_id, principal, for_update=True)
        endpoint.secret, endpoint.updated_at = new_secret(), self.clock.now()
        await self.session.flush()
        return endpoint

    async def deliveries(self, endpoint_id: str, principal: Principal, *, status: str | None, before: str | None,
                         limit: int) -> KeysetPage[WebhookDelivery]:
        await self.visible(endpoint_id, principal)
        return await repo.deliveries(self.session, endpoint_id, status=status, before=before, limit=limit)

    async def delivery(self, endpoint_id: str, delivery_id: str, principal: Principal
                       ) -> tuple[WebhookDelivery, Sequence[WebhookAttempt]]:
        await self.visible(endpoint_id, principal)
        delivery = found(await repo.delivery(self.session, endpoint_id, delivery_id),
                         DeliveryNotFound(f"delivery {delivery_id} of webhook endpoint {endpoint_id} not found"))
        return delivery, await repo.attempts(self.session, delivery.id)

    async def replay(self, endpoint_id: str, delivery_id: str, principal: Principal) -> WebhookDelivery:
        """Whatever its status: due now, with a fresh retry budget and its attempt log kept (the
        same event, so the same `webhook-id`). For a disabled endpoint: held until it is enabled."""
        endpoint = await self.visible(endpoint_id, principal)
        delivery = found(await repo.delivery(self.session, endpoint_id, delivery_id, for_update=True),
                         DeliveryNotFound(f"delivery {delivery_id} of webhook endpoint {endpoint_id} not found"))
        enabled = endpoint.status == "enabled"
        delivery.status = "pending" if enabled else "held"
        delivery.next_attempt_at = self.clock.now() if enabled else None
        delivery.budget_used, delivery.locked_until, delivery.lease, delivery.delivered_at = 0, None, None, None
        await self.session.flush()
        return delivery
