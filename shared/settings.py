"""Settings: one base for every service, one subclass per service with its own env prefix.

Every variable is documented in the README. Placeholder secrets are refused outside
development.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]


class EventSink(BaseModel):
    """Where the outbox relay delivers events: an HTTP endpoint and the event types it wants."""

    url: str
    events: list[str] = Field(default_factory=lambda: ["*"], description="fnmatch patterns, e.g. `contract.*`")


WEBHOOK_SECRET_PREFIX = "whsec_"
WEBHOOK_MIN_SECRET_BYTES = 24  # Standard Webhooks recommends 24 to 64 random bytes


def decode_webhook_secret(secret: str) -> bytes:
    """The key bytes of a Standard Webhooks secret (`whsec_<base64>`, the prefix optional, padding
    optional), decoded strictly: the `standardwebhooks` package itself silently drops characters
    that are not base64, so a mistyped secret would sign with some other key."""
    body = secret[len(WEBHOOK_SECRET_PREFIX):] if secret.startswith(WEBHOOK_SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("webhook secret must be `whsec_` followed by base64") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


class WebhookTarget(BaseModel):
    """An external endpoint (the CRM, the shop) that gets events as Standard Webhooks: signed with
    `secret`, retried by the outbox relay like any sink."""

    url: str
    secret: str = Field(repr=False, description="Standard Webhooks secret, `whsec_<base64>`")
    events: list[str] = Field(default_factory=lambda: ["*"], description="fnmatch patterns, e.g. `contract.*`")

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("webhook url must be an absolute http(s) URL")
        return url

    @field_validator("secret")
    @classmethod
    def _decodable_secret(cls, secret: str) -> str:
        decode_webhook_secret(secret)
        return secret


# The events an endpoint registered through the API may get (each service sends only its own).
PUBLIC_EVENT_PATTERNS = ("contract.*", "licence.*", "usage.*", "invoice.*", "payment.*", "ticket.*", "callback.*",
                         "complaint.*", "remote_session.*")


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__")

    service_name: str = "service"
    environment: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    # Where clients reach this service: the `servers` of its OpenAPI document (none when unset)
    public_url: str | None = None

    database_url: str = "sqlite+aiosqlite:///./var/service.db"
    db_pool_size: int = 10
    read_pool_size: int = 32  # PostgreSQL connections for hot read paths (plain asyncpg)
    db_echo: bool = False

    # Auth (shared/auth.py): JWKS from a file or a URL; issuer and audience are checked.
    jwks_file: Path | None = None
    jwks_url: str | None = None
    jwt_issuer: str = "supportctl-dev"
    jwt_audience: str = "support-platform"
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    # Private key used to mint this service's own tokens for calls to other services.
    signing_key_file: Path | None = None
    signing_key_id: str = "dev"
    service_token_ttl: int = 300

    # Peers
    entitlements_url: str = "http://127.0.0.1:8001"
    tickets_url: str = "http://127.0.0.1:8002"
    billing_url: str = "http://127.0.0.1:8003"
    http_timeout: float = 5.0
    http_retries: int = 3

    # Outbox relay
    relay_enabled: bool = True
    relay_poll_interval: float = 1.0
    relay_batch_size: int = 50
    relay_lease_seconds: int = 30
    relay_max_attempts: int = 12
    relay_backoff_base: float = 1.0
    relay_backoff_max: float = 600.0
    event_sinks: dict[str, EventSink] = Field(default_factory=dict)
    # Outgoing Standard Webhooks; their names share one namespace with event_sinks (outbox `sink`)
    webhooks: dict[str, WebhookTarget] = Field(default_factory=dict)
    # Webhook endpoints registered through the API (shared/webhook_endpoints/): the events they
    # may subscribe to, and each delivery's retry budget (after it, the endpoint is disabled).
    webhook_endpoint_events: list[str] = Field(default_factory=lambda: list(PUBLIC_EVENT_PATTERNS))
    webhook_max_attempts: int = Field(default=10, ge=1)
    webhook_backoff_base: float = Field(default=60.0, ge=0)
    webhook_backoff_max: float = Field(default=6 * 3600.0, ge=0)

    # HTTP edge
    max_body_bytes: int = 1024 * 1024
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"

    @model_validator(mode="after")
    def _sink_names_are_unique(self) -> "ServiceSettings":
        clash = sorted(set(self.event_sinks) & set(self.webhooks))
        if clash:
            raise ValueError(f"webhook and event sink names share one namespace; both define {clash}")
        if "-" in self.webhooks:
            raise ValueError("`-` is reserved (events without a sink) and cannot name a webhook")
        return self

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_production(self) -> "ServiceSettings":
        if self.environment == "production":
            problems = []
            for name, hook in self.webhooks.items():
                if urlsplit(hook.url).scheme != "https":
                    problems.append(f"webhook {name!r} url must be https")
                if len(decode_webhook_secret(hook.secret)) < WEBHOOK_MIN_SECRET_BYTES:
                    problems.append(f"webhook {name!r} secret must be at least {WEBHOOK_MIN_SECRET_BYTES} bytes")
            if self.database_url.startswith("sqlite"):
                problems.append("database_url must point at PostgreSQL")
            if not (self.jwks_file or self.jwks_url):
                problems.append("jwks_file or jwks_url is required")
            if self.jwt_issuer == "supportctl-dev":
                problems.append("jwt_issuer still has the development placeholder")
            if problems:
                raise ValueError("refusing production settings: " + "; ".join(problems))
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
