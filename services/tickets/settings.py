"""Tickets settings: env prefix `TICKETS_`."""

from __future__ import annotations

from email.utils import parseaddr

from pydantic import Field, model_validator
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
    # tickets per transaction of a scan (each chunk claimed with SKIP LOCKED; a scan takes chunks
    # until none is due)
    sla_scan_chunk_size: int = Field(default=500, ge=1)
    max_attachment_bytes: int = 512 * 1024
    min_description_chars: int = 20  # R-T1: a ticket needs a detailed description

    # ---- e-mail channel (R-T1, R-T3; services/tickets/smtp_listener.py, mailer.py) ----------
    # Inbound: an SMTP listener for the support address, run by the app itself (0 disables it).
    smtp_listen_host: str = "127.0.0.1"
    smtp_listen_port: int = 2525
    smtp_max_message_bytes: int = 10 * 1024 * 1024  # larger mail is refused with 552
    # Outbound: every mail leaves through the outbox (sink `mail`) to this relay.
    mail_outbound_enabled: bool = True  # false: events are not routed to the `mail` sink
    smtp_relay_host: str = "127.0.0.1"
    smtp_relay_port: int = 1025
    smtp_relay_username: str | None = None
    smtp_relay_password: str | None = Field(default=None, repr=False)
    smtp_relay_starttls: bool = False
    smtp_relay_timeout: float = 30.0
    mail_from: str = "Support <support@example.com>"
    support_address: str = ""  # the address mail is accepted for; empty: the address in mail_from

    # ---- the agent SPA at /agent/ (services/tickets/api/agent_ui.py) --------------------------
    # Sign-in: empty authorize URL → paste a token (development); else OIDC authorization code + PKCE.
    agent_oidc_authorize_url: str = ""
    agent_oidc_token_url: str = ""
    agent_oidc_client_id: str = ""
    agent_oidc_scope: str = "openid"
    agent_oidc_redirect_uri: str = ""  # empty: the SPA's own address (<origin>/agent/)
    agent_refresh_seconds: float = 30.0  # how often the queue is re-read

    @model_validator(mode="after")
    def _refuse_mail_placeholders_in_production(self) -> "TicketsSettings":
        if self.environment == "production":
            if self.support_mailbox.endswith("@example.com"):
                raise ValueError("refusing production settings: mail_from/support_address still use example.com")
            if self.mail_outbound_enabled and self.smtp_relay_host in ("127.0.0.1", "localhost"):
                raise ValueError("refusing production settings: smtp_relay_host points at the development mail sink")
        return self

    @model_validator(mode="after")
    def _agent_oidc_complete(self) -> "TicketsSettings":
        if self.agent_oidc_authorize_url and not (self.agent_oidc_token_url and self.agent_oidc_client_id):
            raise ValueError("agent_oidc_authorize_url needs agent_oidc_token_url and agent_oidc_client_id")
        return self

    @property
    def support_mailbox(self) -> str:
        """The bare support address (lower case): what the listener accepts mail for."""
        return (self.support_address or parseaddr(self.mail_from)[1]).strip().lower()
