"""Purchase and contract routes."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from services.entitlements.api.deps import Contracts, contract_out, scoped
from services.entitlements.errors import (
    BuyerIsSeller, ConsentRequired, ContractExists, ContractNotFound, InvalidNip, InvalidTransition,
    LicenceHasOtherContracts,
    LicenceNotFound, LicenceOwnedElsewhere, LicenceProductMismatch, PlanNotFound, PlanNotPurchasable,
    TermNotOffered, TerminationNotAllowed,
)
from services.entitlements.schemas import (
    AsOfIn, ContractOut, ExpireRunOut, HistoryEntryOut, PurchaseIn, ReasonIn, RepresentativesIn, TerminateIn,
    TransferIn,
)
from services.entitlements.service.expiry import expire_run as run_expiry
from services.entitlements.statuses import ContractStatus
from shared.errors import Forbidden, IdempotencyKeyRequired, IdempotencyKeyReused, Unprocessable, error_responses
from shared.web.idempotency import IdempotencyRequired
from shared.roles import CONTRACTS_MANAGE, CONTRACTS_READ, CONTRACTS_WRITE
from shared.schemas import Page

router = APIRouter(prefix="/v1", tags=["contracts"])

_PURCHASE_EXAMPLE = {
    "customer_id": "cust-1001", "plan_id": "o365-standard", "mode": "addon",
    "licence": {"product": "office365", "reference": "tenant-contoso.onmicrosoft.com"}, "term_months": 12,
    "payment_method": "card",
    "billing": {"name": "Contoso sp. z o.o.", "nip": "1234563218", "address": "ul. Prosta 1, 00-001 Warszawa",
                "email": "faktury@contoso.pl"},
}


@router.post("/purchases", operation_id="createPurchase", status_code=201, response_model=ContractOut,
             summary="Buy a support plan (add-on or standalone)",
             description="Creates a contract `pending_payment` and emits `contract.created`. Add-on registers the "
                         "licence bought in the same order; standalone needs a licence the customer holds (R-E2). "
                         "Requires `Idempotency-Key`: a retry with the same key and body replays the first response.",
             responses=error_responses(Forbidden, IdempotencyKeyRequired, IdempotencyKeyReused, LicenceNotFound,
                                       LicenceProductMismatch, PlanNotPurchasable, TermNotOffered, PlanNotFound,
                                       ContractExists, LicenceOwnedElsewhere, InvalidNip, BuyerIsSeller),
             openapi_extra={"requestBody": {"content": {"application/json": {"example": _PURCHASE_EXAMPLE}}}})
async def purchase(body: PurchaseIn, contracts: Contracts, idem: IdempotencyRequired,
                   principal: scoped(CONTRACTS_WRITE)):
    principal.ensure_may_see(body.customer_id, "customer")
    contract, licence = await contracts.purchase(body, principal.sub)
    return await idem.respond(201, contract_out(contract, licence))


@router.get("/contracts/{contract_id}", operation_id="getContract", response_model=ContractOut, summary="A contract",
            responses=error_responses(Forbidden, ContractNotFound))
async def get_contract(contract_id: str, contracts: Contracts, principal: scoped(CONTRACTS_READ)) -> ContractOut:
    contract = await contracts.visible(contract_id, principal)
    return contract_out(contract, await contracts.licence_of(contract))


@router.get("/contracts", operation_id="listContracts", response_model=Page[ContractOut], summary="List contracts",
            description="Customers see only their own. Cursor pagination in id order.",
            responses=error_responses(Forbidden))
async def list_contracts(contracts: Contracts, principal: scoped(CONTRACTS_READ),
                         customer_id: str | None = Query(default=None, max_length=100),
                         status: ContractStatus | None = None,
                         cursor: str | None = Query(default=None, max_length=40),
                         limit: int = Query(default=50, ge=1, le=200)) -> Page[ContractOut]:
    customer_id = principal.customer_filter(customer_id)
    page, next_cursor = await contracts.list_with_licences(customer_id=customer_id, status=status, after=cursor,
                                                           limit=limit)
    return Page(items=[contract_out(c, licence) for c, licence in page], next_cursor=next_cursor)


@router.get("/contracts/{contract_id}/history", operation_id="getContractHistory", response_model=list[HistoryEntryOut],
            summary="A contract's audit history", responses=error_responses(Forbidden, ContractNotFound))
async def contract_history(contract_id: str, contracts: Contracts,
                           principal: scoped(CONTRACTS_READ)) -> list[HistoryEntryOut]:
    await contracts.visible(contract_id, principal)
    return [HistoryEntryOut.model_validate(h, from_attributes=True)
            for h in await contracts.history(contract_id)]


_LIFECYCLE = error_responses(Forbidden, ContractNotFound, InvalidTransition)


async def _respond(contracts: Contracts, contract) -> ContractOut:  # type: ignore[no-untyped-def]
    return contract_out(contract, await contracts.licence_of(contract))


def _simple_transition(action: str, summary: str) -> None:
    async def endpoint(contract_id: str, contracts: Contracts, principal: scoped(CONTRACTS_MANAGE),
                       body: ReasonIn | None = None) -> ContractOut:
        contract = await contracts.transition_by_id(contract_id, action, principal.sub, body and body.reason)
        return await _respond(contracts, contract)

    router.add_api_route(f"/contracts/{{contract_id}}/{action}", endpoint, methods=["POST"], name=action,
                         operation_id=f"{action}Contract",
                         response_model=ContractOut, summary=summary, responses=_LIFECYCLE)


_simple_transition("activate", "Activate a contract (payment received)")
_simple_transition("suspend", "Suspend support (missing, late or partial payment, R-E4)")
_simple_transition("resume", "Lift a suspension (arrears paid, R-E4)")


@router.post("/contracts/{contract_id}/terminate", operation_id="terminateContract", response_model=ContractOut,
             summary="Terminate a contract (R-E5, R-E6)",
             description="Immediate, or scheduled when `effective_on` is later (or the reason needs notice). "
                         "`payment_overdue` needs billing to have reported the contract terminable (>7 days late); "
                         "`seller_breach` needs a written demand at least 7 days old.",
             responses=error_responses(Forbidden, ContractNotFound, InvalidTransition, TerminationNotAllowed))
async def terminate(contract_id: str, body: TerminateIn, contracts: Contracts,
                    principal: scoped(CONTRACTS_MANAGE)) -> ContractOut:
    return await _respond(contracts, await contracts.terminate(contract_id, body, principal.sub))


@router.post("/contracts/expire-run", operation_id="expireContracts", response_model=ExpireRunOut,
             summary="Expire contracts past their term; apply scheduled terminations (R-E1)",
             responses=error_responses(Forbidden))
async def expire_run(body: AsOfIn, request: Request, principal: scoped(CONTRACTS_MANAGE)) -> ExpireRunOut:
    # chunk after chunk, each in its own unit of work (service/expiry.py)
    result = await run_expiry(request.app.state.runtime, body.as_of, principal.sub)
    return ExpireRunOut(as_of=body.as_of, expired=result.expired, terminated=result.terminated)


@router.post("/contracts/{contract_id}/transfer", operation_id="transferContract", response_model=ContractOut,
             summary="Transfer a contract to another customer with recorded consent (R-E8)",
             responses=error_responses(Forbidden, ContractNotFound, InvalidTransition, ConsentRequired,
                                       LicenceHasOtherContracts, BuyerIsSeller, Unprocessable, InvalidNip))
async def transfer(contract_id: str, body: TransferIn, contracts: Contracts,
                   principal: scoped(CONTRACTS_MANAGE)) -> ContractOut:
    return await _respond(contracts, await contracts.transfer(contract_id, body, principal.sub))


@router.put("/contracts/{contract_id}/representatives", operation_id="setContractRepresentatives",
            response_model=ContractOut,
            summary="Name the representatives of both sides (R-E7)",
            responses=error_responses(Forbidden, ContractNotFound))
async def put_representatives(contract_id: str, body: RepresentativesIn, contracts: Contracts,
                              principal: scoped(CONTRACTS_READ)) -> ContractOut:
    await contracts.visible(contract_id, principal)
    if not (principal.has(CONTRACTS_MANAGE) or principal.customer_id is not None):
        raise Forbidden("only the customer or an administrator names representatives")
    if body.seller is not None and not principal.has(CONTRACTS_MANAGE):
        raise Forbidden("only the seller names the seller's representative")
    return await _respond(contracts, await contracts.set_representatives(contract_id, body, principal.sub))
