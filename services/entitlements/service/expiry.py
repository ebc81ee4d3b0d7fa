"""The expiry run (R-E1, R-E5, R-E6): contracts past their term expire, due scheduled terminations
take effect, and each ended contract gets its data-disposition deadline (R-E9) in the same
transaction.

It reads two index ranges (live contracts with a termination scheduled by `as_of`, then live
contracts whose term ended before it) in chunks, each chunk one unit of work whose contracts are
claimed with `FOR UPDATE SKIP LOCKED`, until neither range has a contract left: several replicas
share one run and each contract ends once. Every contract a chunk claims ends, leaving both
ranges, so the run finishes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from services.entitlements import repository as repo
from services.entitlements.service.contracts import ContractService
from services.entitlements.settings import EntitlementsSettings
from shared.runtime import Runtime


@dataclass
class ExpiryResult:
    as_of: date
    expired: list[str] = field(default_factory=list)
    terminated: list[str] = field(default_factory=list)


async def expire_run(runtime: Runtime, as_of: date, actor: str, *, chunk_size: int | None = None) -> ExpiryResult:
    settings: EntitlementsSettings = runtime.settings  # type: ignore[assignment]
    size = chunk_size or settings.expiry_chunk_size
    result = ExpiryResult(as_of)
    for scheduled in (True, False):  # terminations first: one due before the term's end wins
        while await _chunk(runtime, settings, as_of, actor, scheduled, size, result):
            pass
    return result


async def _chunk(runtime: Runtime, settings: EntitlementsSettings, as_of: date, actor: str, scheduled: bool,
                 size: int, result: ExpiryResult) -> bool:
    """One chunk in its own transaction; False when the range had nothing (left) to end."""
    async with runtime.work() as uow:
        chunk = await repo.contracts_due_to_end(uow.session, as_of, scheduled=scheduled, limit=size)
        contracts, ended = ContractService(uow, settings), False
        for contract in chunk:
            outcome = await contracts.end_when_due(contract, as_of, actor)
            if outcome is not None:
                (result.expired if outcome == "expired" else result.terminated).append(contract.id)
                ended = True
        await uow.commit()
    return ended
