"""Domain errors of the webhook endpoints API, each with a stable code."""

from __future__ import annotations

from shared.errors import NotFound, Unprocessable, register_validation_code

# Request validation (schemas.py) reports these as the error code of a 422.
INVALID_WEBHOOK_URL = register_validation_code("invalid_webhook_url")
INVALID_EVENT_PATTERN = register_validation_code("invalid_event_pattern")


class EndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    message = "No such webhook endpoint."


class DeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    message = "No such delivery of this webhook endpoint."


class InvalidWebhookUrl(Unprocessable):
    code = INVALID_WEBHOOK_URL
    message = "The URL must be an absolute http or https URL with a host."


class InvalidEventPattern(Unprocessable):
    code = INVALID_EVENT_PATTERN
    message = "`events` must be a non-empty list of patterns such as `ticket.*` or `invoice.paid`."


class WebhookUrlNotHttps(Unprocessable):
    code = "webhook_url_not_https"
    message = "A webhook endpoint must use https in production."


class WebhookUrlNotPublic(Unprocessable):
    code = "webhook_url_not_public"
    message = "A webhook endpoint must not point at this machine or a private address in production."
