"""Quota consumption (R-S4, R-S6, R-E10): recorded idempotently per event id; what the quota
does not cover is overage, emitted as `usage.overage` for billing (R-B8)."""

from __future__ import annotations

from services.entitlements import repository as repo
from services.entitlements.errors import MetricNotInPlan, UsageEventReused, UsageNotAllowed, UsageTooLarge
from services.entitlements.models import UsageRecord
from services.entitlements.schemas import UsageIn
from services.entitlements.service.contracts import ContractService
from services.entitlements.service.quotas import QuotaRule, allocate
from services.entitlements.service.terms import ACTIVE
from shared.clock import local_date
from shared.ids import new_id


class UsageService:
    def __init__(self, contracts: ContractService) -> None:
        self.contracts = contracts
        self.uow = contracts.uow

    async def record(self, contract_id: str, data: UsageIn) -> tuple[UsageRecord, bool]:
        # The contract row lock serialises consumption of one contract's quota.
        contract = await self.contracts.get(contract_id, for_update=True)
        existing = await repo.usage_by_event(self.uow.session, contract.id, data.event_id)
        if existing is not None:
            if (existing.metric, existing.quantity) != (data.metric, data.quantity):
                raise UsageEventReused(f"event {data.event_id!r} was recorded as {existing.quantity} "
                                       f"{existing.metric}")
            return existing, False
        on = local_date(data.occurred_at)
        if contract.status != ACTIVE or not contract.starts_on <= on <= contract.ends_on:
            raise UsageNotAllowed(f"contract {contract.id} is {contract.status}, term {contract.starts_on}–"
                                  f"{contract.ends_on}; usage on {on} cannot be recorded (R-E10)")
        plan = await repo.effective_plan(self.uow.session, contract.plan_id, contract.plan_version, data.occurred_at)
        assert plan is not None
        raw = plan.quotas.get(data.metric)
        if raw is None:
            raise MetricNotInPlan(f"plan {plan.plan_id} has no quota {data.metric!r}; it has "
                                  f"{', '.join(sorted(plan.quotas)) or 'none'}")
        rule = QuotaRule.from_plan(data.metric, raw)
        if rule.max_per_record is not None and data.quantity > rule.max_per_record:
            raise UsageTooLarge(f"{data.quantity} {rule.unit}s exceeds {rule.max_per_record} per record")
        period_key = rule.period_key(on)
        used = (await repo.usage_sums(self.uow.session, contract.id, {rule.metric: period_key}))[rule.metric]
        split = allocate(data.quantity, used, rule.limit)
        record = UsageRecord(id=new_id("use"), contract_id=contract.id, event_id=data.event_id, metric=data.metric,
                             quantity=data.quantity, included=split.included, overage=split.overage,
                             period_key=period_key, occurred_at=data.occurred_at, recorded_at=self.uow.clock.now(),
                             reference=data.reference)
        self.uow.session.add(record)
        await self.uow.session.flush()
        base = {"usage_id": record.id, "event_id": data.event_id, "contract_id": contract.id,
                "customer_id": contract.customer_id, "plan_id": plan.plan_id, "metric": data.metric,
                "unit": rule.unit, "period_key": period_key, "occurred_at": data.occurred_at.isoformat(),
                "reference": data.reference}
        self.uow.events.emit("usage.recorded", {**base, "quantity": data.quantity, "included": split.included,
                                                "overage": split.overage}, subject=contract.id)
        if split.overage:
            self.uow.events.emit("usage.overage", {**base, "quantity": split.overage,
                                                   "unit_price_net": plan.overage_prices.get(data.metric),
                                                   "currency": "PLN"}, subject=contract.id)
        return record, True
