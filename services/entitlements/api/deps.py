"""Dependencies shared by the entitlements routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.entitlements.models import Contract, Licence
from services.entitlements.schemas import ContractOut, LicenceOut, PendingUpgradeOut
from services.entitlements.service.catalogue_cache import CatalogueCache
from services.entitlements.service.contracts import ContractService
from services.entitlements.settings import EntitlementsSettings
from shared.web.auth import scoped  # noqa: F401 - scoped is re-exported to the routes
from shared.web.uow import UoW


async def settings_of(request: Request) -> EntitlementsSettings:
    return request.app.state.runtime.settings


Settings = Annotated[EntitlementsSettings, Depends(settings_of)]


async def catalogue_cache(request: Request) -> CatalogueCache:
    return request.app.state.catalogue_cache


Catalogue = Annotated[CatalogueCache, Depends(catalogue_cache)]


async def contract_service(uow: UoW, settings: Settings) -> ContractService:
    return ContractService(uow, settings)


Contracts = Annotated[ContractService, Depends(contract_service)]


def licence_out(licence: Licence) -> LicenceOut:
    return LicenceOut.model_validate(licence, from_attributes=True)


def contract_out(contract: Contract, licence: Licence) -> ContractOut:
    data = contract.model_dump()
    data["licence"] = licence_out(licence)
    data["pending_upgrade"] = (PendingUpgradeOut.model_validate(contract.pending_upgrade)
                               if contract.pending_upgrade else None)
    return ContractOut.model_validate(data)

