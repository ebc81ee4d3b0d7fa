"""Entitlements settings: env prefix `ENTITLEMENTS_`."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.nip import normalize_nip
from shared.seller import DEMO_SELLER_NIP
from shared.settings import ServiceSettings


class EntitlementsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ENTITLEMENTS_", extra="ignore", env_nested_delimiter="__")

    service_name: str = "entitlements"
    port: int = 8001
    database_url: str = "sqlite+aiosqlite:///./var/entitlements.db"
    # Read paths cache the catalogue this long (plan versions are immutable; edits in this
    # process invalidate at once, other replicas within this many seconds).
    catalogue_cache_seconds: float = 5.0
    # R-E6: new terms apply to existing contracts this many months after publication.
    terms_notice_months: int = 1
    # R-E5: terminate at once when billing reports a contract terminable (> 7 days late)?
    auto_terminate_when_terminable: bool = False
    # R-E9: days after expiry/termination to return or delete personal data.
    data_disposition_days: int = 14
    # Contracts per transaction of the expiry run (each chunk claimed with SKIP LOCKED; a run
    # takes chunks until none is due).
    expiry_chunk_size: int = Field(default=500, ge=1)
    # R-E7: the seller's named representative on every contract.
    seller_representative_name: str = "Support Desk"
    seller_representative_email: str = "support@example.com"
    seller_representative_phone: str | None = None
    # The seller's own NIP, the one billing invoices as (BILLING_SELLER_NIP: set both to the same):
    # a purchase or transfer naming it as the buyer's is refused (422 `buyer_is_seller`).
    seller_nip: str = DEMO_SELLER_NIP

    @field_validator("seller_nip")
    @classmethod
    def _valid_nip(cls, value: str) -> str:
        return normalize_nip(value)  # a mistyped NIP stops the service at start, not a purchase later
