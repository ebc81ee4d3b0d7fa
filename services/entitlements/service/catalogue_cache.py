"""An in-process snapshot of the catalogue for read paths (the entitlement check is the hot
path). Plan versions are immutable once published, so a cached version is never wrong; only the
*set* of versions and products can change, and the snapshot is refreshed after `ttl` seconds or
at once when this process edits the catalogue. New purchases never use it (they read the newest
version from the database)."""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.entitlements.models import PlanVersion, Product
from shared.db import Database


@dataclass
class CatalogueSnapshot:
    products: dict[str, Product]
    versions: dict[str, list[PlanVersion]] = field(default_factory=dict)  # per plan, ascending

    def latest(self, plan_id: str) -> PlanVersion | None:
        found = self.versions.get(plan_id)
        return found[-1] if found else None

    def version(self, plan_id: str, version: int) -> PlanVersion | None:
        found = self.versions.get(plan_id, [])
        i = bisect_right([v.version for v in found], version) - 1
        return found[i] if i >= 0 and found[i].version == version else None

    def effective(self, plan_id: str, bought_version: int, at: datetime) -> PlanVersion | None:
        """R-E6: the newest version at or above the one bought that applies to existing contracts."""
        best = None
        for v in self.versions.get(plan_id, []):
            if v.version >= bought_version and v.applies_to_existing_from <= at:
                best = v
        return best or self.version(plan_id, bought_version)

    def products_for_licence(self, licence_product: str) -> list[Product]:
        return sorted((p for p in self.products.values() if p.licence_product == licence_product), key=lambda p: p.id)


class CatalogueCache:
    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._snapshot: CatalogueSnapshot | None = None
        self._loaded_at = 0.0
        self._refreshing = asyncio.Lock()

    def invalidate(self) -> None:
        self._snapshot = None

    async def snapshot_from(self, db: Database) -> CatalogueSnapshot:
        """The snapshot, opening a session of its own only when it must reload. One request
        reloads; the others keep using the previous snapshot meanwhile (no stampede)."""
        current = self._snapshot
        if current is not None and (time.monotonic() - self._loaded_at < self.ttl or self._refreshing.locked()):
            return current
        async with self._refreshing:
            if self._snapshot is not None and time.monotonic() - self._loaded_at < self.ttl:
                return self._snapshot
            async with db.session() as session:
                return await self.snapshot(session)

    async def snapshot(self, session: AsyncSession) -> CatalogueSnapshot:
        if self._snapshot is not None and time.monotonic() - self._loaded_at < self.ttl:
            return self._snapshot
        products = {p.id: p for p in (await session.execute(select(Product))).scalars()}
        snapshot = CatalogueSnapshot(products=products)
        rows = (await session.execute(select(PlanVersion).order_by(PlanVersion.plan_id, PlanVersion.version))).scalars()
        for version in rows:
            snapshot.versions.setdefault(version.plan_id, []).append(version)
        for obj in (*products.values(), *(v for vs in snapshot.versions.values() for v in vs)):
            session.expunge(obj)  # detached, read-only copies shared between requests
        self._snapshot, self._loaded_at = snapshot, time.monotonic()
        return snapshot
