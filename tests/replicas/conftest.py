"""Replica fixtures: the platform as separate OS processes on PostgreSQL (tests/e2e/harness.py)
with **two processes of every service** on the service's one database, behind a loopback
round-robin (tests/support/roundrobin.py) that peers, the payment sandbox and the tests call.
Runs on PostgreSQL only; without it the package is skipped, except under CI=true or
REQUIRE_POSTGRES=1, where it fails."""

from __future__ import annotations

import uuid
from typing import AsyncIterator

import pytest

from tests.support.crm import WebhookReceiver, crm  # noqa: F401 - the package's `crm` fixture
from tests.e2e.harness import Platform
from tests.support.databases import postgres_available, skip_or_fail_without_postgres

REPLICA_ENV = {
    # small chunks so a 2,000-contract run is many chunks shared by both billing replicas; a short
    # lease so a SIGKILLed replica's chunk is taken again within seconds
    "BILLING_BILLING_RUN_CHUNK_SIZE": "25", "BILLING_BILLING_RUN_LEASE": "3", "BILLING_BILLING_RUN_INTERVAL": "0.5",
}


@pytest.fixture(scope="package")
async def replicated(crm: WebhookReceiver, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    problem = await postgres_available()
    if problem:
        skip_or_fail_without_postgres(problem)
    world = Platform(tmp_path_factory.mktemp("replicas"), uuid.uuid4().hex[:8], crm.url("billing"), crm.secret,
                     replicas=2, extra_env=REPLICA_ENV)
    try:
        await world.start()
        yield world
    finally:
        await world.stop()
