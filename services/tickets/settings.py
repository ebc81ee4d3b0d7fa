"""Tickets settings: env prefix `TICKETS_`."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class TicketsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TICKETS_", extra="ignore", env_nested_delimiter="__")

    service_name: str = "tickets"
    port: int = 8002
    database_url: str = "sqlite+aiosqlite:///./var/tickets.db"
    # Entitlements are asked when a ticket is filed and kept as a snapshot; answers are cached
    # this long per customer and product.
    entitlement_cache_seconds: float = 30.0
    reopen_days: int = 14  # a resolved ticket may be reopened within this many days
    sla_warning_ratio: float = 0.75  # warn at 75 % of the reaction target used
    sla_scan_interval: float = 60.0  # background scan period (0 disables it)
    max_attachment_bytes: int = 512 * 1024
    min_description_chars: int = 20  # R-T1: a ticket needs a detailed description
