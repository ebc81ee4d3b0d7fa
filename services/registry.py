"""The services that exist, their default ports, settings and app factories."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    env_prefix: str
    settings_path: str  # "module:Class"
    app_factory_path: str  # "module:function"

    @property
    def migrations(self) -> Path:
        return ROOT / self.name / "migrations"

    def settings_class(self) -> type[ServiceSettings]:
        return _load(self.settings_path)

    def app_factory(self) -> Callable[..., Any]:
        return _load(self.app_factory_path)


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


SERVICES: dict[str, ServiceSpec] = {
    "entitlements": ServiceSpec("entitlements", 8001, "ENTITLEMENTS_",
                                "services.entitlements.settings:EntitlementsSettings",
                                "services.entitlements.main:create_app"),
    "tickets": ServiceSpec("tickets", 8002, "TICKETS_", "services.tickets.settings:TicketsSettings",
                           "services.tickets.main:create_app"),
    "billing": ServiceSpec("billing", 8003, "BILLING_", "services.billing.settings:BillingSettings",
                           "services.billing.main:create_app"),
}


def get(name: str) -> ServiceSpec:
    try:
        return SERVICES[name]
    except KeyError:
        raise KeyError(f"unknown service {name!r}; one of: {', '.join(SERVICES)}") from None


# Who hears whose events (producer → consumer → event patterns): the embedded default and the
# k8s manifests are both checked against this one table (tests/test_event_routes.py).
EVENT_ROUTES: dict[str, dict[str, list[str]]] = {
    "entitlements": {"billing": ["contract.*", "usage.overage"], "tickets": ["contract.*"]},
    "billing": {"entitlements": ["contract.paid", "contract.payment_overdue", "contract.payment_settled",
                                 "contract.terminable", "contract.upgrade_paid"],
                "tickets": ["contract.payment_overdue", "contract.terminable"]},  # R-B5: the notice by mail
}
