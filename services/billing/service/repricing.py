"""The repair run over every contract whose prices predate the price schedule: one transaction
per contract, rolled back unless told to apply (so a dry run shows exactly what would be issued,
and gives every invoice number back)."""

from __future__ import annotations

from services.billing import repository as repo
from services.billing.clients import EntitlementsClient
from services.billing.service.accounts import AccountService
from services.billing.service.legacy_prices import LegacyPriceService, Repair
from services.billing.settings import BillingSettings
from shared.runtime import Runtime


async def reprice_legacy_accounts(runtime: Runtime, settings: BillingSettings, *, apply: bool,
                                  entitlements: EntitlementsClient | None = None) -> list[Repair]:
    client = entitlements or EntitlementsClient(settings)
    repairs = []
    try:
        async with runtime.db.session() as session:
            contracts = [a.contract_id for a in await repo.legacy_price_accounts(session)]
        for contract_id in contracts:
            async with runtime.work() as uow:  # rolled back (the dry run) unless committed
                accounts = AccountService(uow, settings)
                account = await accounts.get(contract_id, for_update=True)
                repairs.append(await LegacyPriceService(accounts.prices, client).repair(account))
                if apply:
                    await uow.commit()
    finally:
        if entitlements is None:
            await client.aclose()
    return repairs
