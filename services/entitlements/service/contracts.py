"""Licences, purchases and the contract life cycle (R-E1, R-E2, R-E4–R-E9).

`pending_payment → active ⇄ suspended → terminated | expired`; every change is written to the
contract's history and emitted as an event in the same transaction.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Sequence

from sqlalchemy.exc import IntegrityError

from services.entitlements import repository as repo
from services.entitlements.errors import (
    BuyerIsSeller, ConsentRequired, ContractExists, ContractNotFound, DateOutsideTerm, InvalidTransition,
    LicenceHasOtherContracts, LicenceNotFound, LicenceOwnedElsewhere, LicenceProductMismatch, PlanNotPurchasable,
    TermNotOffered, TerminationNotAllowed,
)
from services.entitlements.models import Contract, ContractHistory, DataDisposition, Licence, PlanVersion
from services.entitlements.schemas import (
    BillingDetails, LicenceIn, PurchaseIn, RepresentativesIn, TerminateIn, TransferIn,
)
from services.entitlements.service.catalogue import CatalogueService
from services.entitlements.service.terms import ACTIVE, PENDING, SUSPENDED, TRANSITIONS, add_months, term_end
from services.entitlements.settings import EntitlementsSettings
from services.entitlements.statuses import ContractMode
from shared.auth import Principal
from shared.clock import today
from shared.ids import new_id
from shared.queries import found
from shared.uow import UnitOfWork

LIVE_INDEX = "uq_contract_live_licence_product"


def contract_event_data(contract: Contract, licence: Licence | None = None, plan: PlanVersion | None = None,
                        **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "contract_id": contract.id, "customer_id": contract.customer_id, "product_id": contract.product_id,
        "plan_id": contract.plan_id, "plan_version": contract.plan_version, "status": contract.status,
        "term_months": contract.term_months, "starts_on": contract.starts_on.isoformat(),
        "ends_on": contract.ends_on.isoformat(), "payment_method": contract.payment_method,
        "billing": contract.billing, "order_ref": contract.order_ref,
    }
    if licence is not None:
        data["licence"] = {"id": licence.id, "product": licence.product, "reference": licence.reference}
    if plan is not None:
        data["price_net"] = f"{plan.price_net:.2f}"
        data["plan_name"] = plan.name
        data["currency"] = "PLN"
    data.update(extra)
    return data


class ContractService:
    def __init__(self, uow: UnitOfWork, settings: EntitlementsSettings) -> None:
        self.uow, self.settings = uow, settings
        self.session = uow.session

    def today(self) -> date:
        return today(self.uow.clock)

    # ---- licences ----------------------------------------------------------------------------

    async def register_licence(self, customer_id: str, data: LicenceIn) -> Licence:
        """Registers a licence the shop sold; registering the same licence again for the same
        customer returns it (a shop retrying an order is not an error)."""
        existing = await repo.licence_by_ref(self.session, data.product, data.reference)
        if existing is not None:
            if existing.customer_id != customer_id:
                raise LicenceOwnedElsewhere(f"licence {data.product}/{data.reference} belongs to another customer")
            return existing
        licence = Licence(id=new_id("lic"), customer_id=customer_id, product=data.product, reference=data.reference,
                          order_ref=data.order_ref, registered_at=self.uow.clock.now())
        try:
            async with self.session.begin_nested():
                self.session.add(licence)
                await self.session.flush()
        except IntegrityError:
            # registered concurrently by another request: use that one
            existing = await repo.licence_by_ref(self.session, data.product, data.reference)
            if existing is None or existing.customer_id != customer_id:
                raise LicenceOwnedElsewhere(f"licence {data.product}/{data.reference} belongs to another customer") from None
            return existing
        self.uow.events.emit("licence.registered", {"licence_id": licence.id, "customer_id": customer_id,
                                                    "product": licence.product, "reference": licence.reference,
                                                    "order_ref": licence.order_ref}, subject=licence.id)
        return licence

    async def licences(self, customer_id: str) -> list[Licence]:
        return list(await repo.licences_of(self.session, customer_id))

    # ---- purchase ----------------------------------------------------------------------------

    async def purchase(self, data: PurchaseIn, actor: str) -> tuple[Contract, Licence]:
        self._refuse_the_seller_as_buyer(data.billing)
        catalogue = CatalogueService(self.uow)
        plan = await catalogue.plan(data.plan_id)
        product = await catalogue.product(plan.product_id)
        if not plan.purchasable:
            raise PlanNotPurchasable(f"plan {plan.plan_id!r} is the free plan of {product.id!r} and is not sold")
        if data.licence.product != product.licence_product:
            raise LicenceProductMismatch(f"plan {plan.plan_id!r} covers {product.licence_product!r} licences, "
                                         f"not {data.licence.product!r}")
        if data.term_months not in product.term_months:
            raise TermNotOffered(f"{product.id} is sold for {product.term_months} months, not {data.term_months}")

        if data.mode == ContractMode.ADDON:  # R-E2: the licence is bought in the same order
            licence = await self.register_licence(data.customer_id, LicenceIn(
                product=data.licence.product, reference=data.licence.reference, order_ref=data.order_ref))
        else:  # R-E2: standalone needs a licence the customer already holds
            licence = await repo.licence_by_ref(self.session, data.licence.product, data.licence.reference)
            if licence is None or licence.customer_id != data.customer_id:
                raise LicenceNotFound(f"customer {data.customer_id} holds no licence "
                                      f"{data.licence.product}/{data.licence.reference}; buy it as an add-on "
                                      f"with the licence, or register the licence first")

        if await repo.live_contract(self.session, licence.id, product.id) is not None:
            raise ContractExists(f"licence {licence.product}/{licence.reference} already has a live "
                                 f"{product.id} contract")
        starts_on = self.today()
        representative = (data.representative.model_dump(mode="json") if data.representative
                          else {"name": data.billing.name, "email": data.billing.email, "phone": None})
        contract = Contract(
            id=new_id("ctr"), customer_id=data.customer_id, licence_id=licence.id, product_id=product.id,
            plan_id=plan.plan_id, plan_version=plan.version, status=PENDING, mode=data.mode,
            term_months=data.term_months, starts_on=starts_on, ends_on=term_end(starts_on, data.term_months),
            payment_method=data.payment_method, billing=data.billing.model_dump(mode="json"),
            representatives={"customer": representative, "seller": self._seller_representative()},
            order_ref=data.order_ref, created_at=self.uow.clock.now(),
        )
        try:
            async with self.session.begin_nested():
                self.session.add(contract)
                await self.session.flush()
        except IntegrityError as exc:
            if LIVE_INDEX in str(exc.orig) or "contract.licence_id, contract.product_id" in str(exc.orig):
                raise ContractExists(f"licence {licence.product}/{licence.reference} already has a live "
                                     f"{product.id} contract") from None
            raise
        await self.record_history(contract, "created", None, actor, None, {"mode": data.mode, "plan_version": plan.version})
        self.uow.events.emit("contract.created", contract_event_data(contract, licence, plan, created_by=actor),
                             subject=contract.id)
        return contract, licence

    def _refuse_the_seller_as_buyer(self, billing: BillingDetails | None) -> None:
        """The buyer named for the invoices (R-B10) cannot be the seller itself: an invoice from a
        company to itself is no sale, so the NIP is a mistake (often the seller's own, copied)."""
        if billing is not None and billing.nip == self.settings.seller_nip:
            raise BuyerIsSeller(f"the buyer's NIP {billing.nip} is the seller's own NIP; the invoices must name the "
                                "customer's NIP")

    def _seller_representative(self) -> dict[str, Any]:
        s = self.settings
        return {"name": s.seller_representative_name, "email": s.seller_representative_email,
                "phone": s.seller_representative_phone}

    # ---- reading -----------------------------------------------------------------------------

    async def get(self, contract_id: str, *, for_update: bool = False, seen_by: Principal | None = None) -> Contract:
        return found(await repo.get_contract(self.session, contract_id, for_update=for_update),
                     ContractNotFound(f"contract {contract_id!r} does not exist"), seen_by=seen_by)

    async def visible(self, contract_id: str, principal: Principal) -> Contract:
        """Object-level check: a customer sees only its own contracts; anyone else's answers exactly
        like a contract that does not exist (same code and detail: no existence leak)."""
        return await self.get(contract_id, seen_by=principal)

    async def list_with_licences(self, *, customer_id: str | None, status: str | None, after: str | None,
                                 limit: int) -> tuple[list[tuple[Contract, Licence]], str | None]:
        """A keyset page of contracts in id order, each with its licence: two queries whatever the
        page size. The caller has already narrowed `customer_id` to what the principal may see."""
        page = await repo.list_contracts(self.session, customer_id=customer_id, status=status, after=after,
                                         limit=limit)
        licences = await repo.licences_by_id(self.session, [c.licence_id for c in page.rows])
        return [(c, licences[c.licence_id]) for c in page.rows], page.next_after

    async def history(self, contract_id: str) -> Sequence[ContractHistory]:
        return await repo.history(self.session, contract_id)

    async def licence_of(self, contract: Contract) -> Licence:
        licence = await self.session.get(Licence, contract.licence_id)
        assert licence is not None
        return licence

    # ---- life cycle --------------------------------------------------------------------------

    async def record_history(self, contract: Contract, action: str, from_status: str | None, actor: str,
                       reason: str | None, data: dict[str, Any] | None = None) -> None:
        self.session.add(ContractHistory(contract_id=contract.id, at=self.uow.clock.now(), action=action,
                                         from_status=from_status, to_status=contract.status, actor=actor,
                                         reason=reason, data=data or {}))
        await self.session.flush()

    async def transition(self, contract: Contract, action: str, actor: str, reason: str | None = None,
                         data: dict[str, Any] | None = None) -> Contract:
        allowed_from, to_status = TRANSITIONS[action]
        if contract.status not in allowed_from:
            raise InvalidTransition(f"cannot {action} contract {contract.id}: it is {contract.status} "
                                    f"(allowed from {', '.join(sorted(allowed_from))})")
        before = contract.status
        contract.status = to_status
        if action == "activate":
            contract.activated_at = self.uow.clock.now()
        await self.record_history(contract, action, before, actor, reason, data)
        past = {"activate": "activated", "suspend": "suspended", "resume": "resumed",
                "terminate": "terminated", "expire": "expired"}[action]
        self.uow.events.emit(f"contract.{past}", contract_event_data(contract, reason=reason, **(data or {})),
                             subject=contract.id)
        return contract

    async def transition_by_id(self, contract_id: str, action: str, actor: str, reason: str | None = None) -> Contract:
        """`activate` (payment received), `suspend` (R-E4: support withheld while a payment is
        missing; the free plan applies meanwhile) or `resume` (R-E4: arrears paid)."""
        return await self.transition(await self.get(contract_id, for_update=True), action, actor, reason)

    async def mark_terminable(self, contract_id: str, since: date, actor: str) -> Contract:
        """R-E5/R-B6: billing reports a payment more than 7 days late; the seller may now terminate.
        `since` is the first day it was more than 7 days late (billing's `terminable_since`)."""
        contract = await self.get(contract_id, for_update=True)
        if contract.terminable_since is None and contract.status in (PENDING, ACTIVE, SUSPENDED):
            contract.terminable_since = since
            await self.record_history(contract, "marked_terminable", contract.status, actor,
                                      "payment more than 7 days late", {"terminable_since": since.isoformat()})
            if self.settings.auto_terminate_when_terminable:
                await self._end(contract, "terminate", self.today(), "payment_overdue", actor, None)
        return contract

    async def terminate(self, contract_id: str, data: TerminateIn, actor: str) -> Contract:
        contract = await self.get(contract_id, for_update=True)
        allowed_from, _ = TRANSITIONS["terminate"]
        if contract.status not in allowed_from:
            raise InvalidTransition(f"cannot terminate contract {contract.id}: it is {contract.status}")
        effective = self._termination_date(contract, data)
        if effective > self.today():
            contract.termination_scheduled_on = effective
            await self.record_history(contract, "termination_scheduled", contract.status, actor, data.reason,
                                {"effective_on": effective.isoformat(), "note": data.note})
            self.uow.events.emit("contract.termination_scheduled", contract_event_data(
                contract, reason=data.reason, effective_on=effective.isoformat()), subject=contract.id)
            return contract
        return await self._end(contract, "terminate", effective, data.reason, actor, data.note)

    def _termination_date(self, contract: Contract, data: TerminateIn) -> date:
        """R-E5 and R-E6 decide who may end a contract, and how soon."""
        today_ = self.today()
        earliest = today_
        if data.reason == "payment_overdue":
            if contract.terminable_since is None:
                raise TerminationNotAllowed("the seller may terminate for non-payment only when a payment is more "
                                            "than 7 days late (R-E5); billing has not reported that")
        elif data.reason == "seller_breach":
            if data.demand_sent_on is None or data.demand_sent_on > today_ - timedelta(days=7):
                raise TerminationNotAllowed("the customer may terminate for the seller's breach only after a written "
                                            "demand left uncured for 7 days (R-E5); give demand_sent_on")
        elif data.reason == "terms_change_customer":
            earliest = today_ + timedelta(days=7)  # R-E6: 7 days' notice
        elif data.reason == "terms_change_seller":
            earliest = add_months(today_, 1)  # R-E6: one month's notice
        effective = data.effective_on or earliest
        if effective < earliest:
            raise TerminationNotAllowed(f"{data.reason} needs notice: effective on {earliest.isoformat()} at the earliest")
        return effective

    async def _end(self, contract: Contract, action: str, ended_on: date, reason: str, actor: str,
                   note: str | None) -> Contract:
        contract.ended_on, contract.end_reason = ended_on, reason
        contract.termination_scheduled_on = None
        if contract.pending_upgrade is not None:
            contract.pending_upgrade = None
        due = ended_on + timedelta(days=self.settings.data_disposition_days)  # R-E9
        self.session.add(DataDisposition(contract_id=contract.id, customer_id=contract.customer_id,
                                         ended_on=ended_on, due_on=due))
        return await self.transition(contract, action, actor, reason,
                                     {"ended_on": ended_on.isoformat(), "data_disposition_due_on": due.isoformat(),
                                      **({"note": note} if note else {})})

    async def end_when_due(self, contract: Contract, as_of: date, actor: str) -> str | None:
        """R-E1: a contract past its term expires; a scheduled termination that is due takes
        effect (when it comes before the term's end). Returns `expired`, `terminated` or None."""
        if contract.termination_scheduled_on is not None and contract.termination_scheduled_on <= as_of \
                and contract.termination_scheduled_on <= contract.ends_on:
            reason = await self._scheduled_reason(contract)
            await self._end(contract, "terminate", contract.termination_scheduled_on, reason, actor, None)
            return "terminated"
        if contract.ends_on < as_of:
            await self._end(contract, "expire", contract.ends_on, "term_ended", actor, None)
            return "expired"
        return None

    async def _scheduled_reason(self, contract: Contract) -> str:
        for entry in reversed(await repo.history(self.session, contract.id)):
            if entry.action == "termination_scheduled":
                return entry.reason or "scheduled"
        return "scheduled"

    # ---- transfer and representatives -------------------------------------------------------

    async def transfer(self, contract_id: str, data: TransferIn, actor: str) -> Contract:
        """R-E8: a contract's customer changes only with the seller's recorded written consent."""
        if data.consent is None:
            raise ConsentRequired()
        self._refuse_the_seller_as_buyer(data.billing)
        contract = await self.get(contract_id, for_update=True)
        if contract.status not in (PENDING, ACTIVE, SUSPENDED):
            raise InvalidTransition(f"cannot transfer contract {contract.id}: it is {contract.status}")
        if data.consent.granted_on > self.today():
            raise DateOutsideTerm("the consent cannot be dated in the future")
        if data.to_customer_id == contract.customer_id:
            raise InvalidTransition("the contract already belongs to that customer")
        licence = await self.licence_of(contract)
        others = [c for c in await repo.live_contracts_on_licences(self.session, [licence.id]) if c.id != contract.id]
        if others:
            raise LicenceHasOtherContracts(f"licence {licence.reference} also has {', '.join(c.id for c in others)}")
        previous = contract.customer_id
        contract.customer_id = data.to_customer_id
        licence.customer_id = data.to_customer_id
        if data.billing is not None:
            contract.billing = data.billing.model_dump(mode="json")
        consent = data.consent.model_dump(mode="json")
        await self.record_history(contract, "transferred", contract.status, actor, f"consent {data.consent.reference}",
                            {"from_customer_id": previous, "to_customer_id": data.to_customer_id, "consent": consent})
        self.uow.events.emit("contract.transferred", contract_event_data(
            contract, from_customer_id=previous, consent=consent), subject=contract.id)
        return contract

    async def set_representatives(self, contract_id: str, data: RepresentativesIn, actor: str) -> Contract:
        """R-E7: each side names a representative for contact."""
        contract = await self.get(contract_id, for_update=True)
        reps = dict(contract.representatives)
        reps["customer"] = data.customer.model_dump(mode="json")
        if data.seller is not None:
            reps["seller"] = data.seller.model_dump(mode="json")
        contract.representatives = reps
        await self.record_history(contract, "representatives_changed", contract.status, actor, None, reps)
        self.uow.events.emit("contract.representatives_changed",
                             contract_event_data(contract, representatives=reps), subject=contract.id)
        return contract
