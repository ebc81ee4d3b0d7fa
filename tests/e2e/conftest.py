"""End-to-end fixtures: one platform of separate OS processes on PostgreSQL for the package
(see harness.py), stopped once the package's last test is done rather than at the end of the
session; a receiver for the webhooks the platform sends to "the CRM"; per-flow timings written to
test-artifacts/e2e-timings.txt; the services' logs attached to a failing test.

The package runs once, on PostgreSQL only (no `backend` parameter). Without a reachable
PostgreSQL it is skipped — except under CI=true or REQUIRE_POSTGRES=1, where it fails."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest

from tests.support.databases import postgres_available, skip_or_fail_without_postgres
from tests.e2e.harness import REPO, Platform
from tests.support.crm import WebhookReceiver, crm  # noqa: F401 - the package's `crm` fixture

ARTIFACTS = REPO / "test-artifacts"
TIMINGS_FILE = ARTIFACTS / "e2e-timings.txt"
E2E_DIR = Path(__file__).resolve().parent

_state: dict[str, Any] = {"platform": None, "flows": []}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end over separate OS processes on PostgreSQL (tests/e2e)")


def _is_e2e(item: pytest.Item) -> bool:
    return Path(item.path).resolve().is_relative_to(E2E_DIR)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _is_e2e(item):
            item.add_marker(pytest.mark.e2e)




@pytest.fixture(scope="package")
async def platform(crm: WebhookReceiver, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    problem = await postgres_available()
    if problem:
        skip_or_fail_without_postgres(problem)
    started = time.monotonic()
    world = Platform(tmp_path_factory.mktemp("e2e"), uuid.uuid4().hex[:8], crm.url("billing"), crm.secret)
    _state["platform"] = world
    try:
        await world.start()
        world.timings.add("platform: total set-up", time.monotonic() - started)
        yield world
    finally:
        stopped = time.monotonic()
        await world.stop()
        world.timings.add("platform: teardown (stop processes, drop databases)", time.monotonic() - stopped)
        _state["platform"] = None
        _state["platform_timings"] = list(world.timings.rows)
        _state["notes"] = list(world.timings.notes)


@pytest.fixture(autouse=True)
def _flow_timer(request: pytest.FixtureRequest, platform: Platform) -> Iterator[None]:
    """Each flow's wall time, the shared platform's set-up excluded (it is reported on its own)."""
    started = time.monotonic()
    yield
    _state["flows"].append((request.node.name, time.monotonic() - started))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    world: Platform | None = _state["platform"]
    if report.failed and world is not None and _is_e2e(item):
        report.sections.append(("e2e service logs (tails)", world.logs_tail()))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _state["flows"]:
        return
    lines = [f"e2e timings — {datetime.now(timezone.utc).isoformat(timespec='seconds')}, "
             f"{os.cpu_count()} CPUs, exit status {exitstatus}", ""]
    for what, seconds in _state.get("platform_timings", []):
        lines.append(f"{seconds:8.2f} s  {what}")
    lines.append("")
    total = 0.0
    for name, seconds in _state["flows"]:
        total += seconds
        lines.append(f"{seconds:8.2f} s  {name}")
    lines.append(f"{total:8.2f} s  all flows together (platform set-up and teardown not included)")
    if _state.get("notes"):
        lines += ["", "notes:"] + [f"  - {note}" for note in _state["notes"]]
    ARTIFACTS.mkdir(exist_ok=True)
    TIMINGS_FILE.write_text("\n".join(lines) + "\n")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _state["flows"] and TIMINGS_FILE.exists():
        terminalreporter.write_sep("-", "e2e timings")
        terminalreporter.write(TIMINGS_FILE.read_text())
