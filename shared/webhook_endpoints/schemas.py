"""Request and response models of the webhook endpoints API (/tmp/notes/webhook_api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from shared.schemas import StrictModel
from shared.webhook_endpoints.errors import INVALID_EVENT_PATTERN, INVALID_WEBHOOK_URL
from shared.webhook_endpoints.policy import normalised_patterns, pattern_problem, url_problem

EndpointStatus = Literal["enabled", "disabled"]
DeliveryStatus = Literal["pending", "delivered", "failed", "held"]


def _checked_url(url: str) -> str:
    problem = url_problem(url)
    if problem:
        raise PydanticCustomError(INVALID_WEBHOOK_URL, "the webhook URL must be {why}", {"why": problem})
    return url


def _checked_patterns(patterns: list[str]) -> list[str]:
    problem = pattern_problem(patterns)
    if problem:
        raise PydanticCustomError(INVALID_EVENT_PATTERN, "{why}", {"why": problem})
    return normalised_patterns(patterns)


WebhookUrl = Annotated[str, AfterValidator(_checked_url),
                       Field(description="Absolute http(s) URL the events are POSTed to; https in production.",
                             examples=["https://crm.example.com/hooks/support"])]
EventPatterns = Annotated[list[str], AfterValidator(_checked_patterns),
                          Field(description="fnmatch patterns of the event types to send (`*` matches anything), "
                                            "e.g. `ticket.*`, `invoice.paid`.",
                                examples=[["ticket.*", "invoice.paid"]])]
Description = Annotated[str | None, Field(default=None, max_length=500)]


class WebhookEndpointIn(StrictModel):
    url: WebhookUrl
    events: EventPatterns
    description: Description = None


class WebhookEndpointPatch(StrictModel):
    """Any of the fields; `description: null` clears it. `enabled: true` on a disabled endpoint
    sends every delivery held while it was disabled."""

    url: WebhookUrl | None = None
    events: EventPatterns | None = None
    description: Description = None
    enabled: bool | None = None

    @model_validator(mode="after")
    def _no_null_for_required_fields(self) -> "WebhookEndpointPatch":
        for name in ("url", "events", "enabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"`{name}` cannot be null; leave it out to keep it")
        return self


class WebhookEndpointOut(BaseModel):
    id: str = Field(examples=["whe_01jd3k8m9q2r4t6v8x0z2b4d6f"])
    url: str
    events: list[str]
    description: str | None
    status: EndpointStatus
    disabled_reason: str | None = Field(description="Why it is disabled: a delivery that ran out of retries, or "
                                                    "`disabled through the API`.")
    disabled_at: datetime | None
    consecutive_failures: int = Field(description="Failed attempts since the last successful one.")
    created_at: datetime


class WebhookEndpointWithSecretOut(WebhookEndpointOut):
    secret: str = Field(description="The Standard Webhooks signing secret (`whsec_…`); shown only when the endpoint "
                                    "is created and when the secret is rotated.")


class WebhookDeliveryOut(BaseModel):
    id: str = Field(examples=["whd_01jd3k8m9q2r4t6v8x0z2b4d6f"])
    endpoint_id: str
    event_id: str = Field(description="Also the `webhook-id` header of every attempt.")
    event_type: str
    status: DeliveryStatus = Field(description="`held`: kept while the endpoint is disabled, sent when it is "
                                               "enabled again.")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class WebhookAttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None = Field(description="None: no answer (connection refused, timeout, …).")
    error: str | None = Field(description="The first bytes of a non-2xx answer, or the transport error.")
    duration_ms: int


class WebhookDeliveryDetailOut(WebhookDeliveryOut):
    payload: dict[str, Any] = Field(description="The event envelope, sent as compact JSON.")
    attempt_log: list[WebhookAttemptOut] = Field(description="Every attempt, oldest first (replays included).")
