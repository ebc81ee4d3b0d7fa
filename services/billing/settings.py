"""Billing settings: env prefix `BILLING_`."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.seller import DEMO_SELLER_NIP
from shared.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore", env_nested_delimiter="__")

    service_name: str = "billing"
    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///./var/billing.db"

    # ---- the seller on every invoice (R-B10) ---------------------------------------------------
    seller_name: str = "Wsparcie IT Sp. z o.o."
    seller_nip: str = DEMO_SELLER_NIP  # entitlements has it too (ENTITLEMENTS_SELLER_NIP): set both
    seller_street: str = "ul. Prosta 20"
    seller_postal_code: str = "00-850"
    seller_city: str = "Warszawa"
    seller_bank_account: str = "PL61109010140000071219812874"
    place_of_issue: str = "Warszawa"
    invoice_series: str = "FV"  # FV/YYYY/MM/NNNNNN (R-B9)
    correction_series: str = "KOR"
    payment_terms_days: int = 7  # due date of invoices paid at once (first, upgrade supplements)

    # ---- payments (R-B2, R-B4) ------------------------------------------------------------------
    payment_provider_url: str = "http://127.0.0.1:8090"  # the sandbox in development
    payment_provider_api_key: str = Field(default="sk_test_dev", repr=False)
    payment_webhook_secret: str = Field(default="whsec_cGF5c2FuZGJveC1kZXYtd2ViaG9vay1zZWNyZXQtMDE=", repr=False)
    payment_provider_timeout: float = 5.0
    charge_interval: float = 5.0  # background charge runner period, seconds (0 disables it)
    charge_batch: int = Field(100, ge=1, le=10_000)  # due charges one round claims (SKIP LOCKED)
    charge_concurrency: int = Field(8, ge=1, le=64)  # requests to the provider in flight at once
    retry_after_days: list[int] = Field(default_factory=lambda: [1, 3])  # failed charges tried again
    charge_window_hours_before: int = 24  # R-B4: from 24 h before the end of the preceding month …
    charge_window_business_days: int = 3  # … through the third business day of the period

    # ---- the billing run's workers (service/run_worker.py) ------------------------------------------
    billing_run_chunk_size: int = Field(default=500, ge=1, le=10_000)  # contracts per chunk (one transaction)
    billing_run_lease: float = Field(default=60.0, gt=0)  # seconds a chunk is a worker's before another takes it
    billing_run_interval: float = 5.0  # the worker's fallback poll, seconds (0 disables it); a start wakes it

    # ---- dunning (R-B5, R-B6) -------------------------------------------------------------------
    terminable_after_days: int = 7  # more than this many days late → contract.terminable
    dunning_chunk_size: int = Field(default=500, ge=1, le=10_000)  # contracts per dunning transaction
    ksef_submission_enabled: bool = False  # the KSeF adapter is off by default (no network)

    @model_validator(mode="after")
    def _refuse_sandbox_secrets_in_production(self) -> "BillingSettings":
        if self.environment == "production":
            sandbox = BillingSettings.model_fields
            if (self.payment_provider_api_key == sandbox["payment_provider_api_key"].default
                    or self.payment_webhook_secret == sandbox["payment_webhook_secret"].default):
                raise ValueError("refusing production settings: the payment provider's key or webhook secret is the "
                                 "sandbox's (set BILLING_PAYMENT_PROVIDER_API_KEY and BILLING_PAYMENT_WEBHOOK_SECRET)")
            if self.payment_provider_url.startswith("http://127.0.0.1"):
                raise ValueError("refusing production settings: payment_provider_url points at the local sandbox")
        return self
