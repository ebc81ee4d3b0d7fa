"""Listing contracts costs a fixed number of SQL statements whatever the page size: each
contract's licence comes in one batch, not one query per row."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event

from tests.entitlements.helpers import buy


@contextmanager
def statements(api) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """The SQL statements the app sends on its write engine while the block runs."""
    engine = api.app.state.runtime.db.engine.sync_engine
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def listing_statements(api, shop, customer_id: str) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    with statements(api) as seen:
        response = await shop.get("/v1/contracts", params={"customer_id": customer_id})
    assert response.status_code == 200, response.text
    # the outbox relay and other background loops share the engine: count only this listing's tables
    return len(response.json()["items"]), [s for s in seen if _LISTING_TABLES.search(s)]


_LISTING_TABLES = re.compile(r'\bFROM\s+"?(contract|licence)"?(\s|$)', re.IGNORECASE)


async def test_listing_n_contracts_does_not_issue_a_query_per_contract(api, shop):
    counts = {}
    for customer_id, n in (("cust-few", 2), ("cust-many", 7)):
        for i in range(n):
            assert (await buy(shop, customer_id=customer_id, reference=f"{customer_id}-tenant-{i}")).status_code == 201
        listed, sql = await listing_statements(api, shop, customer_id)
        assert listed == n
        counts[n] = len(sql)
    assert counts[2] >= 1 and counts[2] == counts[7], counts
    assert counts[7] <= 2, counts  # one page of contracts, one batch of their licences
