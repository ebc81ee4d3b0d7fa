"""Licence routes: the shop registers licences it sold; callers list a customer's licences."""

from __future__ import annotations

from fastapi import APIRouter, Path

from services.entitlements.api.deps import Contracts, licence_out, scoped
from services.entitlements.errors import LicenceOwnedElsewhere
from services.entitlements.schemas import LicenceIn, LicenceOut
from shared.errors import Forbidden, error_responses
from shared.web.idempotency import IdempotencyOptional
from shared.roles import LICENCES_READ, LICENCES_WRITE

router = APIRouter(prefix="/v1/customers/{customer_id}/licences", tags=["licences"])
CustomerId = Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:@\-]+$")


@router.post("", operation_id="registerLicence",
             status_code=201, response_model=LicenceOut, summary="Register a licence the shop sold",
             description="Registering the same licence again for the same customer returns it. "
                         "Honours `Idempotency-Key`.",
             responses=error_responses(Forbidden, LicenceOwnedElsewhere))
async def register_licence(body: LicenceIn, contracts: Contracts, idem: IdempotencyOptional,
                           _: scoped(LICENCES_WRITE), customer_id: str = CustomerId):
    licence = await contracts.register_licence(customer_id, body)
    return await idem.respond(201, licence_out(licence))


@router.get("", operation_id="listLicences", response_model=list[LicenceOut], summary="List a customer's licences",
            responses=error_responses(Forbidden))
async def list_licences(contracts: Contracts, principal: scoped(LICENCES_READ),
                        customer_id: str = CustomerId) -> list[LicenceOut]:
    principal.ensure_may_see(customer_id, "customer")
    return [licence_out(lic) for lic in await contracts.licences(customer_id)]
