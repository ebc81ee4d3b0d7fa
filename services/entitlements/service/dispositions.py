"""R-E9: within 14 days after a contract ends its personal data is returned or deleted, as the
customer instructs in writing. The deadline is set when the contract ends (contracts.py)."""

from __future__ import annotations

from datetime import date

from services.entitlements import repository as repo
from services.entitlements.errors import DispositionAlreadyCompleted, DispositionNotFound
from services.entitlements.models import DataDisposition
from shared.clock import today
from shared.uow import UnitOfWork


class DispositionService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def get(self, contract_id: str) -> DataDisposition:
        found = await repo.get_disposition(self.uow.session, contract_id)
        if found is None:
            raise DispositionNotFound(f"contract {contract_id} has no data-disposition deadline; it has not ended")
        return found

    async def instruct(self, contract_id: str, instruction: str, received_on: date | None, actor: str) -> DataDisposition:
        item = await self.get(contract_id)
        if item.completed_on is not None:
            raise DispositionAlreadyCompleted(f"data of contract {contract_id} was disposed of on {item.completed_on}")
        item.instruction = instruction
        item.instruction_received_on = received_on or today(self.uow.clock)
        item.instructed_by = actor
        await self.uow.session.flush()
        self.uow.events.emit("contract.data_disposition_instructed", {
            "contract_id": contract_id, "customer_id": item.customer_id, "instruction": instruction,
            "due_on": item.due_on.isoformat()}, subject=contract_id)
        return item

    async def complete(self, contract_id: str, completed_on: date | None, actor: str) -> DataDisposition:
        item = await self.get(contract_id)
        if item.completed_on is not None:
            raise DispositionAlreadyCompleted(f"data of contract {contract_id} was disposed of on {item.completed_on}")
        item.completed_on = completed_on or today(self.uow.clock)
        item.completed_by = actor
        await self.uow.session.flush()
        self.uow.events.emit("contract.data_disposed", {
            "contract_id": contract_id, "customer_id": item.customer_id, "instruction": item.instruction,
            "completed_on": item.completed_on.isoformat(), "due_on": item.due_on.isoformat(),
            "late": item.completed_on > item.due_on}, subject=contract_id)
        return item

    async def listing(self, *, customer_id: str | None, overdue_on: date | None, open_only: bool) -> list[DataDisposition]:
        return list(await repo.list_dispositions(self.uow.session, customer_id=customer_id, overdue_on=overdue_on,
                                                 open_only=open_only))
