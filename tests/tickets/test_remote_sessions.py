"""Remote-help sessions (R-S4, R-S5, R-T4, R-B8): quota consumed in entitlements over HTTP, overage
split there, never counted twice, the first reaction on the ticket, nothing recorded when
entitlements is unreachable, and the complaint deadline on the plan's calendar."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from services.tickets.service.remote_sessions import session_id
from services.tickets.service.windows import session_complaint_deadline
from shared.business_time import Calendar
from tests.tickets.conftest import at

SAGE_HOURS = {"timezone": "Europe/Warsaw", "holidays": "PL",
              "weekly": {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}}


async def vip_ticket(world, customer_id: str = "vip", plan_id: str = "sage-warranty-vip") -> dict[str, Any]:
    contract = await world.contract(customer_id=customer_id, plan_id=plan_id)
    product = "sage-subscription" if "subscription" in plan_id else "sage-warranty"
    response = await world.file(customer_id=customer_id, product=product, category="remote_help")
    assert response.status_code == 201, response.text
    return {**response.json(), "contract": contract}


async def report(world, ticket_id: str, started: str, minutes: int, key: str | None = None,
                 program: str = "Symfonia Finanse i Księgowość"):
    headers = {"Idempotency-Key": key} if key else {}
    return await world.tickets("agent", sub="agent-ola").post(
        f"/v1/tickets/{ticket_id}/remote-sessions", headers=headers,
        json={"started_at": at(started).isoformat(), "minutes": minutes, "program": program})


async def quotas(world, customer_id: str = "vip", product: str = "sage-warranty") -> dict[str, dict[str, Any]]:
    body = (await world.entitlements("admin").get(f"/v1/customers/{customer_id}/entitlements",
                                                  params={"product": product})).json()
    return {q["metric"]: q for q in body["entitlements"][0]["quotas"]}


async def test_a_session_consumes_the_quota_in_entitlements_R_S4(world):
    world.clock.set(at("2026-11-23 09:00"))  # Monday
    ticket = await vip_ticket(world)
    world.clock.set(at("2026-11-23 10:30"))
    response = await report(world, ticket["id"], "2026-11-23 10:00", 20)
    assert response.status_code == 201, response.text
    remote = response.json()
    assert (remote["contract_id"], remote["plan_id"], remote["period_key"]) == (
        ticket["contract"]["id"], "sage-warranty-vip", "2026-11")
    assert remote["sessions"] == {"quantity": 1, "included": 1, "overage": 0}
    assert remote["minutes_usage"] == {"quantity": 20, "included": 20, "overage": 0}
    used = await quotas(world)
    assert (used["remote_help_sessions"]["used"], used["remote_help_minutes"]["used"]) == (1, 20)
    recorded = (await world.receiver.wait_for("remote_session.recorded"))[0]["data"]
    assert (recorded["remote_session_id"], recorded["minutes"]) == (remote["id"], 20)
    listed = (await world.tickets("agent").get(f"/v1/tickets/{ticket['id']}/remote-sessions")).json()
    assert [r["id"] for r in listed] == [remote["id"]]


async def test_a_second_40_minute_session_in_the_month_is_overage_R_S4_R_B8(world):
    world.clock.set(at("2026-11-23 09:00"))
    ticket = await vip_ticket(world)
    world.clock.set(at("2026-11-25 12:00"))
    first = (await report(world, ticket["id"], "2026-11-23 10:00", 20)).json()
    second = (await report(world, ticket["id"], "2026-11-25 11:00", 40)).json()
    assert first["minutes_usage"]["overage"] == 0
    assert second["sessions"] == {"quantity": 1, "included": 0, "overage": 1}  # one session a month
    assert second["minutes_usage"] == {"quantity": 40, "included": 10, "overage": 30}  # 30 minutes a month
    used = await quotas(world)
    assert (used["remote_help_minutes"]["used"], used["remote_help_minutes"]["overage"]) == (60, 30)
    overage = {e["data"]["metric"]: e["data"] for e in await world.receiver.wait_for("usage.overage", count=2)}
    assert (overage["remote_help_sessions"]["quantity"], overage["remote_help_sessions"]["unit_price_net"]) == (
        1, "120.00")
    assert (overage["remote_help_minutes"]["quantity"], overage["remote_help_minutes"]["unit_price_net"]) == (
        30, "4.00")
    assert overage["remote_help_minutes"]["customer_id"] == "vip"


async def test_next_month_starts_a_fresh_quota_R_S4(world):
    world.clock.set(at("2026-11-23 09:00"))
    ticket = await vip_ticket(world)
    await report(world, ticket["id"], "2026-11-23 10:00", 30)
    world.clock.set(at("2026-12-01 12:00"))
    december = (await report(world, ticket["id"], "2026-12-01 10:00", 30)).json()
    assert (december["period_key"], december["sessions"]["overage"], december["minutes_usage"]["overage"]) == (
        "2026-12", 0, 0)  # unused sessions do not carry over, used ones do not either


async def test_a_retried_session_is_never_counted_twice_R_S4(world):
    world.clock.set(at("2026-11-23 09:00"))
    ticket = await vip_ticket(world)
    world.clock.set(at("2026-11-23 11:00"))
    key = str(uuid.uuid4())
    first = await report(world, ticket["id"], "2026-11-23 10:00", 40, key=key)
    again = await report(world, ticket["id"], "2026-11-23 10:00", 40, key=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    without_key = await report(world, ticket["id"], "2026-11-23 10:00", 40)
    assert (without_key.status_code, without_key.json()["error"]) == (409, "remote_session_exists")
    used = await quotas(world)
    assert (used["remote_help_sessions"]["used"], used["remote_help_minutes"]["used"]) == (1, 40)
    assert len((await world.tickets("agent").get(f"/v1/tickets/{ticket['id']}/remote-sessions")).json()) == 1


async def test_a_report_that_failed_half_way_is_completed_by_the_retry_without_double_counting_R_S4(world):
    world.clock.set(at("2026-11-23 09:00"))
    ticket = await vip_ticket(world)
    world.clock.set(at("2026-11-23 11:00"))
    started = at("2026-11-23 10:00")
    # As if an earlier attempt reached entitlements for the session count and then failed: the same
    # session reports the same event ids again.
    sid = session_id(ticket["id"], started)
    pre = await world.entitlements("service").post(f"/v1/contracts/{ticket['contract']['id']}/usage", json={
        "event_id": f"{sid}:sessions", "metric": "remote_help_sessions", "quantity": 1,
        "occurred_at": started.isoformat()})
    assert pre.status_code == 201, pre.text
    response = await report(world, ticket["id"], "2026-11-23 10:00", 25)
    assert response.status_code == 201, response.text
    assert response.json()["id"] == sid and response.json()["sessions"] == {"quantity": 1, "included": 1,
                                                                            "overage": 0}
    used = await quotas(world)
    assert (used["remote_help_sessions"]["used"], used["remote_help_minutes"]["used"]) == (1, 25)


async def test_the_start_of_a_session_meets_the_reaction_target_R_T4(world):
    world.clock.set(at("2026-11-23 09:00"))
    ticket = await vip_ticket(world)
    assert ticket["sla"]["state"] == "running" and ticket["status"] == "new"
    world.clock.set(at("2026-11-23 11:30"))  # reported after the session
    assert (await report(world, ticket["id"], "2026-11-23 10:00", 20)).status_code == 201
    seen = (await world.tickets("agent").get(f"/v1/tickets/{ticket['id']}")).json()
    assert (seen["status"], seen["sla"]["state"]) == ("open", "met")
    assert seen["sla"]["first_response_at"].startswith("2026-11-23T09:00:00")  # 10:00 CET, the start
    history = (await world.tickets("agent").get(f"/v1/tickets/{ticket['id']}/history")).json()
    first = next(h for h in history if h["kind"] == "first_response")
    # the reaction is dated at the session's start; the history entry at when it was reported
    assert first["data"] == {"within_target": True} and first["at"].startswith("2026-11-23T10:30:00")
    assert history[-1]["kind"] == "remote_session"


async def test_remote_help_needs_a_plan_with_it_R_S4(world):
    await world.contract(customer_id="komfort", plan_id="sage-warranty-komfort")
    ticket = (await world.file(customer_id="komfort", product="sage-warranty", category="phone_support")).json()
    refused = await report(world, ticket["id"], "2026-11-21 09:30", 20)
    assert (refused.status_code, refused.json()["error"]) == (409, "remote_help_not_in_plan")
    await world.contract(customer_id="cust-1", plan_id="o365-advanced")
    o365 = (await world.file()).json()
    assert (await report(world, o365["id"], "2026-11-21 09:30", 20)).json()["error"] == "remote_help_not_in_plan"


async def test_sessions_are_for_agents_and_customers_see_only_their_own(world):
    world.clock.set(at("2026-11-23 09:00"))
    mine = await vip_ticket(world, customer_id="vip")
    theirs = await vip_ticket(world, customer_id="vip-plus", plan_id="sage-subscription-vip-plus")
    world.clock.set(at("2026-11-23 12:00"))
    session = (await report(world, mine["id"], "2026-11-23 10:00", 20)).json()
    other = (await report(world, theirs["id"], "2026-11-23 11:00", 20)).json()
    assert other["plan_id"] == "sage-subscription-vip-plus"
    customer = world.tickets("customer", customer_id="vip")
    assert (await customer.get(f"/v1/remote-sessions/{session['id']}")).json()["id"] == session["id"]
    hidden = await customer.get(f"/v1/remote-sessions/{other['id']}")
    assert (hidden.status_code, hidden.json()["error"]) == (404, "remote_session_not_found")
    assert (await customer.get(f"/v1/tickets/{theirs['id']}/remote-sessions")).status_code == 404
    denied = await customer.post(f"/v1/tickets/{mine['id']}/remote-sessions", json={
        "started_at": at("2026-11-23 11:30").isoformat(), "minutes": 5, "program": "Symfonia"})
    assert denied.status_code == 403
    future = await report(world, mine["id"], "2026-11-23 13:00", 20)
    assert (future.status_code, future.json()["error"]) == (422, "instant_in_future")


async def test_the_complaint_deadline_is_the_end_of_the_session_business_day_R_S5(world):
    world.clock.set(at("2026-11-23 09:00"))
    ticket = await vip_ticket(world)
    world.clock.set(at("2026-11-27 20:00"))
    in_hours = (await report(world, ticket["id"], "2026-11-23 10:00", 20)).json()
    assert in_hours["complaint_deadline"].startswith("2026-11-23T16:00:00")  # Mon 17:00 CET
    past_closing = (await report(world, ticket["id"], "2026-11-24 16:50", 20)).json()  # ends 17:10
    assert past_closing["complaint_deadline"].startswith("2026-11-25T16:00:00")  # Wed 17:00
    friday_evening = (await report(world, ticket["id"], "2026-11-27 18:00", 30)).json()
    assert friday_evening["complaint_deadline"].startswith("2026-11-30T16:00:00")  # Mon 17:00


@pytest.mark.parametrize(("started", "minutes", "deadline"), [
    ("2026-11-23 07:00", 30, "2026-11-23 17:00"),  # before opening: that day's hours
    ("2026-11-23 16:30", 30, "2026-11-24 17:00"),  # ends exactly at closing: the next business day
    ("2026-11-10 18:00", 20, "2026-11-12 17:00"),  # 11 Nov is Independence Day
    ("2026-11-21 10:00", 20, "2026-11-23 17:00"),  # Saturday: the Sage hours have none
    ("2026-10-23 18:00", 20, "2026-10-26 17:00"),  # across the change to CET on 25 Oct
    ("2026-12-23 17:30", 30, "2026-12-28 17:00"),  # 24 Dec (from 2025), 25 and 26 Dec are holidays
])
def test_session_complaint_deadline_on_the_calendar_R_S5(started, minutes, deadline):
    assert session_complaint_deadline(Calendar.from_spec(SAGE_HOURS), at(started), minutes) == at(deadline)


class Gate:
    """A TCP relay in front of entitlements; shut, its port refuses connections (entitlements down)."""

    def __init__(self) -> None:
        self.port = 0
        self.target_port: int | None = None
        self.server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def shut(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in list(self._writers):
                writer.close()
            await self.server.wait_closed()
            self.server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self.target_port is not None
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()
                self._writers.discard(dst)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


class TestEntitlementsUnreachable:
    @pytest.fixture
    async def gate(self):
        gate = Gate()
        await gate.open()
        yield gate
        await gate.shut()

    @pytest.fixture
    def tickets_settings_overrides(self, gate: Gate) -> dict[str, Any]:
        return {"entitlements_url": f"http://127.0.0.1:{gate.port}"}

    async def test_nothing_is_recorded_and_the_client_gets_503_R_S4(self, world, gate):
        gate.target_port = int(world.ent_url.rsplit(":", 1)[1])
        world.clock.set(at("2026-11-23 09:00"))
        ticket = await vip_ticket(world)
        world.clock.set(at("2026-11-23 11:00"))
        await gate.shut()
        key = str(uuid.uuid4())
        down = await report(world, ticket["id"], "2026-11-23 10:00", 20, key=key)
        assert (down.status_code, down.json()["error"]) == (503, "entitlements_unavailable")
        agent = world.tickets("agent")
        assert (await agent.get(f"/v1/tickets/{ticket['id']}/remote-sessions")).json() == []
        seen = (await agent.get(f"/v1/tickets/{ticket['id']}")).json()
        assert (seen["status"], seen["sla"]["state"], seen["sla"]["first_response_at"]) == ("new", "running", None)
        assert "remote_session" not in json.dumps([h["kind"] for h in (
            await agent.get(f"/v1/tickets/{ticket['id']}/history")).json()])
        used = await quotas(world)
        assert (used["remote_help_sessions"]["used"], used["remote_help_minutes"]["used"]) == (0, 0)

        await gate.open()  # entitlements is back: the same request (same key) now goes through, once
        retried = await report(world, ticket["id"], "2026-11-23 10:00", 20, key=key)
        assert retried.status_code == 201, retried.text
        assert retried.headers.get("Idempotent-Replayed") is None
        used = await quotas(world)
        assert (used["remote_help_sessions"]["used"], used["remote_help_minutes"]["used"]) == (1, 20)
