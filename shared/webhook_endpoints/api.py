"""Routes of the webhook endpoints API, the same on every service (mounted by
`shared.app.create_service_app`): register endpoints, read their deliveries log, replay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response

from shared.web.auth import scoped
from shared.errors import Forbidden, IdempotencyKeyReused, error_responses
from shared.web.idempotency import IdempotencyOptional
from shared.roles import WEBHOOKS_MANAGE
from shared.schemas import Page
from shared.uow import UnitOfWork
from shared.web.uow import ReadUoW, UoW
from shared.webhook_endpoints.errors import (
    DeliveryNotFound, EndpointNotFound, InvalidEventPattern, InvalidWebhookUrl, WebhookUrlNotHttps, WebhookUrlNotPublic,
)
from shared.webhook_endpoints.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from shared.webhook_endpoints.schemas import (
    DeliveryStatus, WebhookAttemptOut, WebhookDeliveryDetailOut, WebhookDeliveryOut, WebhookEndpointIn,
    WebhookEndpointOut, WebhookEndpointPatch, WebhookEndpointWithSecretOut,
)
from shared.webhook_endpoints.service import EndpointService

_Manager = scoped(WEBHOOKS_MANAGE)
_URL_ERRORS = (InvalidWebhookUrl, WebhookUrlNotHttps, WebhookUrlNotPublic)


def endpoint_out(endpoint: WebhookEndpoint) -> WebhookEndpointOut:
    return WebhookEndpointOut(id=endpoint.id, url=endpoint.url, events=endpoint.events,
                              description=endpoint.description, status=endpoint.status,  # type: ignore[arg-type]
                              disabled_reason=endpoint.disabled_reason, disabled_at=endpoint.disabled_at,
                              consecutive_failures=endpoint.consecutive_failures, created_at=endpoint.created_at)


def with_secret(endpoint: WebhookEndpoint) -> WebhookEndpointWithSecretOut:
    return WebhookEndpointWithSecretOut(**endpoint_out(endpoint).model_dump(), secret=endpoint.secret)


def delivery_out(delivery: WebhookDelivery) -> WebhookDeliveryOut:
    return WebhookDeliveryOut(id=delivery.id, endpoint_id=delivery.endpoint_id, event_id=delivery.event_id,
                       event_type=delivery.event_type, status=delivery.status,  # type: ignore[arg-type]
                       attempts=delivery.attempts, last_status_code=delivery.last_status_code,
                       last_error=delivery.last_error, next_attempt_at=delivery.next_attempt_at,
                       delivered_at=delivery.delivered_at, created_at=delivery.created_at)


def delivery_detail(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> WebhookDeliveryDetailOut:
    return WebhookDeliveryDetailOut(**delivery_out(delivery).model_dump(), payload=delivery.payload, attempt_log=[
        WebhookAttemptOut(attempted_at=a.attempted_at, status_code=a.status_code, error=a.error,
                          duration_ms=a.duration_ms) for a in attempts])


def _service(request: Request, uow: UnitOfWork) -> EndpointService:
    runtime = request.app.state.runtime
    return EndpointService(uow.session, uow.clock, runtime.settings, runtime.webhook_endpoints.routing)


async def _writer(request: Request, uow: UoW) -> EndpointService:
    return _service(request, uow)


async def _reader(request: Request, uow: ReadUoW) -> EndpointService:
    return _service(request, uow)


Endpoints = Annotated[EndpointService, Depends(_writer)]
ReadEndpoints = Annotated[EndpointService, Depends(_reader)]


def _wake_dispatcher(request: Request) -> None:
    request.app.state.runtime.webhook_endpoints.dispatcher.wake()


def build_router() -> APIRouter:
    router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhook endpoints"])

    @router.post("", operation_id="createWebhookEndpoint", status_code=201, response_model=WebhookEndpointWithSecretOut,
                 summary="Register a webhook endpoint",
                 description="The service POSTs each of its events whose type matches one of `events` to `url`, "
                             "signed as a Standard Webhook with the endpoint's own secret, returned here (and by "
                             "rotate-secret) only. The endpoint belongs to the caller. Honours an optional "
                             "`Idempotency-Key`.",
                 responses=error_responses(Forbidden, *_URL_ERRORS, InvalidEventPattern, IdempotencyKeyReused))
    async def create_endpoint(body: WebhookEndpointIn, principal: _Manager, endpoints: Endpoints,
                              idem: IdempotencyOptional) -> Response:
        endpoint = await endpoints.create(body, principal)
        return await idem.respond(201, with_secret(endpoint))

    @router.get("", operation_id="listWebhookEndpoints",
                response_model=Page[WebhookEndpointOut], summary="List webhook endpoints",
                description="The caller's own (admins: everyone's), in creation order; cursor pagination.",
                responses=error_responses(Forbidden))
    async def list_endpoints(principal: _Manager, endpoints: ReadEndpoints,
                             cursor: str | None = Query(default=None, max_length=40),
                             limit: int = Query(default=50, ge=1, le=200)) -> Page[WebhookEndpointOut]:
        page = await endpoints.listing(principal, after=cursor, limit=limit)
        return Page(items=[endpoint_out(e) for e in page.rows], next_cursor=page.next_after)

    @router.get("/{endpoint_id}", operation_id="getWebhookEndpoint",
                response_model=WebhookEndpointOut, summary="A webhook endpoint",
                responses=error_responses(Forbidden, EndpointNotFound))
    async def get_endpoint(endpoint_id: str, principal: _Manager, endpoints: ReadEndpoints) -> WebhookEndpointOut:
        return endpoint_out(await endpoints.visible(endpoint_id, principal))

    @router.patch("/{endpoint_id}", operation_id="updateWebhookEndpoint",
                  response_model=WebhookEndpointOut, summary="Change, enable or disable an endpoint",
                  description="Any of `url`, `events`, `description` (null clears it), `enabled`. Enabling a "
                              "disabled endpoint sends every delivery held while it was disabled; disabling holds "
                              "its pending deliveries.",
                  responses=error_responses(Forbidden, EndpointNotFound, *_URL_ERRORS, InvalidEventPattern))
    async def change_endpoint(endpoint_id: str, body: WebhookEndpointPatch, principal: _Manager, endpoints: Endpoints,
                              request: Request, background: BackgroundTasks) -> WebhookEndpointOut:
        changed = await endpoints.change(endpoint_id, body, principal)
        if changed.released:
            background.add_task(_wake_dispatcher, request)  # after the commit
        return endpoint_out(changed.endpoint)

    @router.delete("/{endpoint_id}", operation_id="deleteWebhookEndpoint", status_code=204, response_class=Response,
                   summary="Delete an endpoint and its deliveries log",
                   responses=error_responses(Forbidden, EndpointNotFound))
    async def delete_endpoint(endpoint_id: str, principal: _Manager, endpoints: Endpoints) -> Response:
        await endpoints.delete(endpoint_id, principal)
        return Response(status_code=204)

    @router.post("/{endpoint_id}/rotate-secret", operation_id="rotateWebhookEndpointSecret",
                 response_model=WebhookEndpointWithSecretOut,
                 summary="Replace the endpoint's signing secret",
                 description="Every attempt from now on, retries included, is signed with the new secret. Honours "
                             "an optional `Idempotency-Key`.",
                 responses=error_responses(Forbidden, EndpointNotFound, IdempotencyKeyReused))
    async def rotate_secret(endpoint_id: str, principal: _Manager, endpoints: Endpoints,
                            idem: IdempotencyOptional) -> Response:
        return await idem.respond(200, with_secret(await endpoints.rotate_secret(endpoint_id, principal)))

    @router.get("/{endpoint_id}/deliveries", operation_id="listWebhookDeliveries",
                response_model=Page[WebhookDeliveryOut],
                summary="The endpoint's deliveries",
                description="Newest first; cursor pagination.",
                responses=error_responses(Forbidden, EndpointNotFound))
    async def list_deliveries(endpoint_id: str, principal: _Manager, endpoints: ReadEndpoints,
                              status: DeliveryStatus | None = None,
                              cursor: str | None = Query(default=None, max_length=40),
                              limit: int = Query(default=50, ge=1, le=200)) -> Page[WebhookDeliveryOut]:
        page = await endpoints.deliveries(endpoint_id, principal, status=status, before=cursor, limit=limit)
        return Page(items=[delivery_out(d) for d in page.rows], next_cursor=page.next_after)

    @router.get("/{endpoint_id}/deliveries/{delivery_id}", operation_id="getWebhookDelivery",
                response_model=WebhookDeliveryDetailOut,
                summary="A delivery with its payload and attempt log",
                responses=error_responses(Forbidden, EndpointNotFound, DeliveryNotFound))
    async def get_delivery(endpoint_id: str, delivery_id: str, principal: _Manager,
                           endpoints: ReadEndpoints) -> WebhookDeliveryDetailOut:
        delivery, attempts = await endpoints.delivery(endpoint_id, delivery_id, principal)
        return delivery_detail(delivery, list(attempts))

    @router.post("/{endpoint_id}/deliveries/{delivery_id}/replay", operation_id="replayWebhookDelivery",
                 status_code=202, response_model=WebhookDeliveryOut,
                 summary="Send a delivery again",
                 description="Whatever its status: due now with a fresh retry budget, under the same `webhook-id`; "
                             "its attempt log is kept. On a disabled endpoint it is held until the endpoint is "
                             "enabled.",
                 responses=error_responses(Forbidden, EndpointNotFound, DeliveryNotFound))
    async def replay_delivery(endpoint_id: str, delivery_id: str, principal: _Manager, endpoints: Endpoints,
                              request: Request, background: BackgroundTasks) -> WebhookDeliveryOut:
        delivery = await endpoints.replay(endpoint_id, delivery_id, principal)
        background.add_task(_wake_dispatcher, request)  # after the commit
        return delivery_out(delivery)

    return router
