"""The billing run's worker: every billing replica (and `supportctl billing run`) runs one, and
they share the chunks of every unfinished run.

A round leases one pending chunk (`FOR UPDATE SKIP LOCKED`, its lease committed at once), then
invoices it in one transaction (service/run_chunk.py) that also marks the chunk done with its
figures, only while the lease is still this worker's. A worker that dies or loses its database
connection mid-chunk commits nothing; its lease runs out and another worker takes the chunk
again (the chunk's `attempts` says so). When the set-based transaction fails (a database error
on one contract's rows), the chunk's contracts are invoiced one by one, each in its own
transaction, and those that still fail are recorded on the run. The last chunk done finishes
the run.

Leases are measured on the wall clock, not the injected business clock: they are about
processes being alive, while the run's business instant is its `as_of`.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, IntegrityError

from services.billing import repository as repo
from services.billing.models import BillingRun, BillingRunChunk, BillingRunFailure
from services.billing.service.accounts import AccountService
from services.billing.service.collection import CHARGE_LOOP
from services.billing.service.periods import Period
from services.billing.service.run_chunk import ChunkInvoicer, Figures, Outcome, charge_time, in_term, \
    plan_period_invoice
from services.billing.settings import BillingSettings
from shared.clock import Clock, SystemClock
from shared.ids import new_id
from shared.runtime import Runtime

log = logging.getLogger("billing.runs")

RUN_LOOP = "billing-runs"  # the worker's background loop: woken by the commit that starts a run


class LeaseLost(Exception):
    """The chunk's lease ran out and another worker took it: this transaction keeps nothing."""


class RunWorker:
    def __init__(self, runtime: Runtime, settings: BillingSettings, *, wall: Clock | None = None,
                 name: str | None = None) -> None:
        self.runtime, self.settings = runtime, settings
        self.wall = wall or SystemClock()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"

    async def run_round(self) -> int:
        """One chunk, if any is free: 1 when one was handled (the loop goes on at once), else 0."""
        chunk = await self._claim()
        if chunk is None:
            return 0
        await self._handle(chunk)
        return 1

    async def drain(self) -> int:
        """Chunks until none is free (the command line, tests)."""
        done = 0
        while await self.run_round():
            done += 1
        return done

    async def _claim(self) -> BillingRunChunk | None:
        now = self.wall.now()
        async with self.runtime.work() as uow:
            chunk = await repo.claim_chunk(uow.session, now, now + timedelta(seconds=self.settings.billing_run_lease),
                                           new_id("lease"), self.name)
            await uow.commit()
            return chunk

    async def _handle(self, chunk: BillingRunChunk) -> None:
        async with self.runtime.db.session() as session:
            run = await repo.billing_run(session, chunk.run_id)
        assert run is not None, "a chunk belongs to a run"
        try:
            await self._set_based(run, chunk)
        except LeaseLost:
            log.warning("billing run %s chunk %s: lease lost to another worker", run.id, chunk.seq)
            return
        except (IntegrityError, DBAPIError) as exc:
            log.warning("billing run %s chunk %s: set-based transaction failed (%s); one contract at a time",
                        run.id, chunk.seq, exc.__class__.__name__)
            try:
                await self._one_by_one(run, chunk)
            except LeaseLost:
                return
        await self._finish_run(run.id)

    async def _set_based(self, run: BillingRun, chunk: BillingRunChunk) -> None:
        async with self.runtime.work() as uow:
            outcome = await ChunkInvoicer(uow, self.settings).invoice(Period.parse(run.period), run.as_of,
                                                                      chunk.from_contract, chunk.to_contract)
            await self._record(uow, run, chunk, outcome, one_by_one=False)
            await uow.commit()

    async def _one_by_one(self, run: BillingRun, chunk: BillingRunChunk) -> None:
        period, outcome = Period.parse(run.period), Outcome()
        async with self.runtime.db.session() as session:
            contracts = [a.contract_id for a in await repo.active_accounts_in(session, chunk.from_contract,
                                                                             chunk.to_contract)]
        for contract_id in contracts:
            try:
                async with self.runtime.work() as uow:
                    figures = await self._one(uow, contract_id, period, run.as_of)
                    await uow.commit()
                outcome.figures.add(figures)
            except IntegrityError:  # invoiced meanwhile (unique per contract and period)
                outcome.figures.contracts += 1
                outcome.figures.already_invoiced += 1
            except Exception as exc:  # noqa: BLE001 - recorded on the run, which goes on
                outcome.figures.contracts += 1
                outcome.failures.append((contract_id, f"{type(exc).__name__}: {exc}"[:500]))
        outcome.figures.failed = len(outcome.failures)
        async with self.runtime.work() as uow:
            await self._record(uow, run, chunk, outcome, one_by_one=True)
            await uow.commit()

    async def _one(self, uow, contract_id: str, period: Period, as_of: datetime) -> Figures:  # type: ignore[no-untyped-def]
        figures = Figures(contracts=1)
        accounts = AccountService(uow, self.settings)
        account = await accounts.get(contract_id, for_update=True)
        if not in_term(account, period):
            figures.not_in_term = 1
        elif await repo.period_invoice(uow.session, contract_id, str(period)) is not None:
            figures.already_invoiced = 1
        else:
            usage = await repo.unbilled_usage(uow.session, contract_id)
            issue = plan_period_invoice(account, await accounts.prices.rows(contract_id), usage, period, as_of)
            invoice = await accounts.invoicing.issue(account, issue)
            for u in usage:
                u.invoice_id = invoice.id
            figure, when = charge_time(period, as_of, self.settings)
            if when is not None:
                await accounts.collection.schedule(invoice, when)
            figures.invoiced = 1
            setattr(figures, figure, 1)
        return figures

    async def _record(self, uow, run: BillingRun, chunk: BillingRunChunk, outcome: Outcome, *,  # type: ignore[no-untyped-def]
                      one_by_one: bool) -> None:
        now = self.wall.now()
        if not await repo.finish_chunk(uow.session, chunk.id, chunk.lease_token, outcome.figures.as_columns(),
                                       one_by_one, now):
            raise LeaseLost()
        await repo.insert_rows(uow.session, BillingRunFailure, [
            {"run_id": run.id, "contract_id": contract_id, "reason": reason, "occurred_at": now}
            for contract_id, reason in outcome.failures])
        if outcome.figures.charges_now:
            uow.wake(CHARGE_LOOP)

    async def _finish_run(self, run_id: str) -> None:
        async with self.runtime.work() as uow:
            if await repo.finish_run_if_done(uow.session, run_id, self.wall.now()):
                log.info("billing run %s finished", run_id)
            await uow.commit()
