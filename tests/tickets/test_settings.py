"""Production refuses the development mail placeholders."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.tickets.settings import TicketsSettings

PROD = dict(environment="production", database_url="postgresql+asyncpg://db/tickets",
            jwks_url="https://idp.example.pl/jwks.json", jwt_issuer="https://idp.example.pl")


def test_production_refuses_the_example_mail_address():
    with pytest.raises(ValidationError, match="example.com"):
        TicketsSettings(**PROD, smtp_relay_host="smtp.reseller.pl")


def test_production_refuses_the_development_mail_sink():
    with pytest.raises(ValidationError, match="development mail sink"):
        TicketsSettings(**PROD, mail_from="Support <support@reseller.pl>")


def test_production_accepts_real_mail_settings():
    settings = TicketsSettings(**PROD, mail_from="Support <support@reseller.pl>", smtp_relay_host="smtp.reseller.pl")
    assert settings.support_mailbox == "support@reseller.pl"
