"""The monthly billing run as durable work (R-B1, R-B4, R-B8, R-B11).

Starting a run records it with its contracts cut into chunks of contract-id ranges, in one
transaction, and wakes the worker (service/run_worker.py) of this replica; every replica's worker
takes chunks of any unfinished run. One run of a period runs at a time: starting a period that is
running joins that run; starting it after it finished replays it (a new record that issues only
what is still missing: one invoice per contract and period). An `Idempotency-Key` names a start:
the same key answers the same run.

The run's figures are the sums of its done chunks' figures, so no row is written by two workers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Sequence

from sqlalchemy.exc import IntegrityError

from services.billing import repository as repo
from services.billing.errors import BillingRunNotFound, InvalidPeriod
from services.billing.models import BillingRun, BillingRunChunk, BillingRunFailure
from services.billing.service.periods import Period
from services.billing.service.run_chunk import Figures
from services.billing.service.run_worker import RUN_LOOP, RunWorker
from services.billing.settings import BillingSettings
from services.billing.statuses import ChunkState, RunStatus
from shared.clock import local_date
from shared.errors import IdempotencyKeyReused
from shared.ids import new_id
from shared.runtime import Runtime

FREE = datetime(2000, 1, 1, tzinfo=timezone.utc)  # a new chunk's lease: long run out (leases are wall-clock)


def check_period(period: str, as_of: datetime) -> Period:
    try:
        parsed = Period.parse(period)
    except ValueError as exc:
        raise InvalidPeriod(str(exc)) from None
    latest = Period.of(local_date(as_of)).next()
    if parsed > latest:
        raise InvalidPeriod(f"{period} is beyond the next month ({latest}) as of {as_of.isoformat()}")
    return parsed


def chunk_ranges(contract_ids: Sequence[str], size: int) -> list[tuple[str, str | None, int]]:
    """[from, to) ranges of `size` contracts that tile every id: the first starts at "" and the
    last has no upper bound, so a contract activated later still falls in one of them."""
    starts = list(range(0, len(contract_ids), size)) or [0]
    return [("" if n == 0 else contract_ids[start],
             contract_ids[starts[n + 1]] if n + 1 < len(starts) else None,
             min(size, len(contract_ids) - start))
            for n, start in enumerate(starts)]


@dataclass
class RunReport:
    """A run as `GET /v1/billing-runs/{id}` shows it."""

    run: BillingRun
    figures: Figures
    done: int  # contracts in done chunks
    chunks_done: int
    chunks_retaken: int  # chunks a worker had to take again (a worker died or lost its lease)
    chunks_one_by_one: int
    failures: list[BillingRunFailure] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.run.status == RunStatus.FINISHED


def report_of(run: BillingRun, chunks: Sequence[BillingRunChunk], failures: Sequence[BillingRunFailure]) -> RunReport:
    figures, done = Figures(), [c for c in chunks if c.state == ChunkState.DONE]
    for chunk in done:
        figures.add(Figures(**chunk.figures))
    return RunReport(run, figures, done=sum(c.size for c in done), chunks_done=len(done),
                     chunks_retaken=sum(1 for c in chunks if c.attempts > 1),
                     chunks_one_by_one=sum(1 for c in chunks if c.one_by_one), failures=list(failures))


class BillingRuns:
    def __init__(self, runtime: Runtime, settings: BillingSettings) -> None:
        self.runtime, self.settings = runtime, settings

    async def start(self, period_text: str, as_of: datetime, *, requested_by: str | None = None,
                    idempotency_key: str | None = None) -> BillingRun:
        period = str(check_period(period_text, as_of))
        for _ in range(3):  # a concurrent start of the same period wins the unique index: join it
            try:
                return await self._start(period, as_of, requested_by, idempotency_key)
            except IntegrityError:
                continue
        raise RuntimeError("could not start or join the billing run")  # pragma: no cover - three races lost

    async def _start(self, period: str, as_of: datetime, requested_by: str | None,
                     key: str | None) -> BillingRun:
        async with self.runtime.work() as uow:
            session = uow.session
            if key is not None and (same := await repo.run_by_key(session, key)) is not None:
                if (same.period, same.as_of) != (period, as_of):
                    raise IdempotencyKeyReused(f"Idempotency-Key {key!r} started the run of {same.period} as of "
                                               f"{same.as_of.isoformat()}")
                session.expunge(same)  # kept as read when the unit of work rolls back
                return same
            running = await repo.running_run(session, period)
            if running is not None:
                session.expunge(running)
                return running
            ranges = chunk_ranges(await repo.active_contract_ids(session), self.settings.billing_run_chunk_size)
            now = self.runtime.clock.now()
            run = BillingRun(id=new_id("brun"), period=period, as_of=as_of, status=RunStatus.RUNNING,
                             total=sum(size for _, _, size in ranges), chunks=len(ranges),
                             requested_by=requested_by, idempotency_key=key, created_at=now)
            session.add(run)
            await session.flush()
            await repo.insert_rows(session, BillingRunChunk, [
                {"run_id": run.id, "seq": n, "from_contract": low, "to_contract": high, "size": size,
                 "state": ChunkState.PENDING, "lease_until": FREE, "figures": {}}
                for n, (low, high, size) in enumerate(ranges)])
            uow.wake(RUN_LOOP)
            await uow.commit()
            return run

    async def report(self, run_id: str) -> RunReport:
        async with self.runtime.db.session() as session:
            run = await repo.billing_run(session, run_id)
            if run is None:
                raise BillingRunNotFound(f"billing run {run_id!r} does not exist")
            return report_of(run, await repo.run_chunks(session, run_id), await repo.run_failures(session, run_id))

    async def wait(self, run_id: str, seconds: float, worker: RunWorker | None = None,
                   poll: float = 0.05) -> RunReport:
        """The run's report once it has finished, or as it stands after `seconds`. With a worker,
        the waiting caller takes chunks itself meanwhile (it is one more worker of the run)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            report = await self.report(run_id)
            if report.finished or loop.time() >= deadline:
                return report
            if worker is None or not await worker.run_round():
                await asyncio.sleep(min(poll, max(0.0, deadline - loop.time())))
