"""Data-disposition routes (R-E9)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query

from services.entitlements.api.deps import Contracts, scoped
from services.entitlements.errors import ContractNotFound, DispositionAlreadyCompleted, DispositionNotFound
from services.entitlements.models import DataDisposition
from services.entitlements.schemas import CompletionIn, DispositionOut, InstructionIn
from services.entitlements.service.dispositions import DispositionService
from shared.clock import today
from shared.errors import Forbidden, error_responses
from shared.roles import CONTRACTS_MANAGE, CONTRACTS_READ, DISPOSITIONS_READ, DISPOSITIONS_WRITE

router = APIRouter(prefix="/v1", tags=["data disposition"])


def disposition_out(item: DataDisposition, on: date) -> DispositionOut:
    return DispositionOut(contract_id=item.contract_id, customer_id=item.customer_id, ended_on=item.ended_on,
                          due_on=item.due_on, instruction=item.instruction,  # type: ignore[arg-type]
                          instruction_received_on=item.instruction_received_on, completed_on=item.completed_on,
                          overdue=item.completed_on is None and item.due_on < on)


@router.get("/contracts/{contract_id}/data-disposition", operation_id="getDataDisposition",
            response_model=DispositionOut,
            summary="The contract's data-disposition deadline and instruction",
            responses=error_responses(Forbidden, ContractNotFound, DispositionNotFound))
async def get_disposition(contract_id: str, contracts: Contracts, principal: scoped(CONTRACTS_READ)) -> DispositionOut:
    await contracts.visible(contract_id, principal)
    item = await DispositionService(contracts.uow).get(contract_id)
    return disposition_out(item, contracts.today())


@router.post("/contracts/{contract_id}/data-disposition/instruction", operation_id="recordDispositionInstruction",
             response_model=DispositionOut,
             summary="Record the customer's written instruction: return or delete",
             responses=error_responses(Forbidden, ContractNotFound, DispositionNotFound, DispositionAlreadyCompleted))
async def instruct(contract_id: str, body: InstructionIn, contracts: Contracts,
                   principal: scoped(DISPOSITIONS_WRITE)) -> DispositionOut:
    await contracts.visible(contract_id, principal)
    item = await DispositionService(contracts.uow).instruct(contract_id, body.instruction, body.received_on,
                                                            principal.sub)
    return disposition_out(item, contracts.today())


@router.post("/contracts/{contract_id}/data-disposition/complete", operation_id="completeDataDisposition",
             response_model=DispositionOut,
             summary="Record that the data was returned or deleted",
             responses=error_responses(Forbidden, ContractNotFound, DispositionNotFound, DispositionAlreadyCompleted))
async def complete(contract_id: str, contracts: Contracts, principal: scoped(CONTRACTS_MANAGE),
                   body: CompletionIn | None = None) -> DispositionOut:
    await contracts.get(contract_id)
    item = await DispositionService(contracts.uow).complete(contract_id, body.completed_on if body else None,
                                                            principal.sub)
    return disposition_out(item, contracts.today())


@router.get("/data-dispositions", operation_id="listDataDispositions", response_model=list[DispositionOut],
            summary="Data-disposition deadlines; `overdue=true` lists the late ones",
            responses=error_responses(Forbidden))
async def list_dispositions(contracts: Contracts, principal: scoped(DISPOSITIONS_READ),
                            overdue: bool = False, as_of: date | None = None,
                            customer_id: str | None = Query(default=None, max_length=100),
                            open_only: bool = Query(default=False, alias="open")) -> list[DispositionOut]:
    on = as_of or today(contracts.uow.clock)
    items = await DispositionService(contracts.uow).listing(customer_id=customer_id, overdue_on=on if overdue else None,
                                                            open_only=open_only)
    return [disposition_out(i, on) for i in items]
