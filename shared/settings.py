"""Settings: one base for every service, one subclass per service with its own env prefix.

Every variable is documented in the README. Placeholder secrets are refused outside
development.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]


class EventSink(BaseModel):
    """Where the outbox relay delivers events: an HTTP endpoint and the event types it wants."""

    url: str
    events: list[str] = Field(default_factory=lambda: ["*"], description="fnmatch patterns, e.g. `contract.*`")


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__")

    service_name: str = "service"
    environment: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 8000

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

    # HTTP edge
    max_body_bytes: int = 1024 * 1024
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_production(self) -> "ServiceSettings":
        if self.environment == "production":
            problems = []
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
