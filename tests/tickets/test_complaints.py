"""Complaints (R-T9, R-S5): filed electronically, due 30 days from receipt, one extension to at
most 60 days, answered to the customer's current e-mail, overdue ones listed; a complaint about
a remote-help session only until the end of that business day."""

from __future__ import annotations

from tests.tickets.conftest import at
from tests.tickets.test_remote_sessions import report, vip_ticket


async def file(world, client=None, **overrides):
    body = {"customer_id": "cust-1", "subject": "No answer for a week",
            "description": "Our ticket about Teams calls had no useful answer for a week."}
    body.update(overrides)
    return await (client or world.tickets("crm")).post("/v1/complaints", json=body)


async def test_a_complaint_about_a_session_only_until_the_end_of_that_business_day_R_S5(world):
    world.clock.set(at("2026-11-23 09:00"))  # Monday
    ticket = await vip_ticket(world)
    world.clock.set(at("2026-11-23 10:30"))
    session = (await report(world, ticket["id"], "2026-11-23 10:00", 20)).json()
    assert session["complaint_deadline"].startswith("2026-11-23T16:00:00")  # 17:00 CET
    customer = world.tickets("customer", customer_id="vip")

    world.clock.set(at("2026-11-23 16:59"))
    in_time = await file(world, customer, customer_id="vip", remote_session_id=session["id"],
                         subject="The session did not fix the report")
    assert in_time.status_code == 201, in_time.text
    assert (in_time.json()["ticket_id"], in_time.json()["remote_session_id"]) == (ticket["id"], session["id"])

    world.clock.set(at("2026-11-23 17:01"))
    late = await file(world, customer, customer_id="vip", remote_session_id=session["id"])
    assert (late.status_code, late.json()["error"]) == (422, "complaint_window_closed")

    # What counts is the receipt: an e-mail received at 17:00 sharp that the CRM files the next morning
    world.clock.set(at("2026-11-24 09:00"))
    forwarded = await file(world, customer_id="vip", remote_session_id=session["id"],
                           received_at=at("2026-11-23 17:00").isoformat())
    assert forwarded.status_code == 201, forwarded.text
    one_minute_late = await file(world, customer_id="vip", remote_session_id=session["id"],
                                 received_at=at("2026-11-23 17:01").isoformat())
    assert one_minute_late.json()["error"] == "complaint_window_closed"
    received = await world.receiver.wait_for("complaint.received", count=2)
    assert {e["data"]["remote_session_id"] for e in received} == {session["id"]}


async def test_complaint_is_due_30_days_after_receipt_R_T9(world):
    world.clock.set(at("2026-11-23 23:30"))  # late evening: still 23 Nov in Warsaw (22:30 UTC)
    await world.contract()
    complaint = await file(world, world.tickets("customer", customer_id="cust-1"))
    assert complaint.status_code == 201, complaint.text
    body = complaint.json()
    assert (body["status"], body["due_on"], body["answer_due_on"], body["overdue"]) == (
        "open", "2026-12-23", "2026-12-23", False)
    assert body["received_at"].startswith("2026-11-23T22:30:00")
    world.clock.set(at("2026-12-23 23:59"))
    assert (await world.tickets("agent").get(f"/v1/complaints/{body['id']}")).json()["overdue"] is False
    world.clock.set(at("2026-12-24 00:01"))
    assert (await world.tickets("agent").get(f"/v1/complaints/{body['id']}")).json()["overdue"] is True


async def test_one_extension_to_at_most_60_days_and_the_customer_is_told_R_T9(world):
    world.clock.set(at("2026-11-23 10:00"))
    await world.contract()  # the customer's representative defaults to the billing e-mail
    complaint = (await file(world)).json()
    agent = world.tickets("agent", sub="agent-ola")
    path = f"/v1/complaints/{complaint['id']}/extend"
    too_long = await agent.post(path, json={"reason": "Needs Microsoft's analysis", "expected_on": "2027-01-23"})
    assert (too_long.status_code, too_long.json()["error"]) == (422, "extension_too_long")
    not_later = await agent.post(path, json={"reason": "Needs Microsoft's analysis", "expected_on": "2026-12-20"})
    assert (not_later.status_code, not_later.json()["error"]) == (422, "extension_not_later")
    assert (await world.tickets("crm").post(path, json={"reason": "x", "expected_on": "2027-01-10"})).status_code == 403

    extended = await agent.post(path, json={"reason": "Needs Microsoft's analysis", "expected_on": "2027-01-22"})
    assert extended.status_code == 200, extended.text
    assert (extended.json()["status"], extended.json()["extended_to"], extended.json()["answer_due_on"]) == (
        "extended", "2027-01-22", "2027-01-22")
    told = (await world.receiver.wait_for("complaint.extended"))[0]["data"]
    assert (told["complaint_id"], told["extended_to"], told["email"], told["reason"]) == (
        complaint["id"], "2027-01-22", "faktury@contoso.pl", "Needs Microsoft's analysis")
    again = await agent.post(path, json={"reason": "Still waiting", "expected_on": "2027-01-15"})
    assert (again.status_code, again.json()["error"]) == (409, "complaint_already_extended")

    world.clock.set(at("2026-12-24 09:00"))  # the 30 days are over: too late to name a date
    late = (await file(world, received_at=at("2026-11-23 09:00").isoformat())).json()
    too_late = await agent.post(f"/v1/complaints/{late['id']}/extend", json={"reason": "x",
                                                                             "expected_on": "2027-01-10"})
    assert (too_late.status_code, too_late.json()["error"]) == (409, "extension_too_late")


async def test_the_answer_goes_to_the_customers_current_email_R_T9(world):
    world.clock.set(at("2026-11-23 10:00"))
    contract = await world.contract()
    ticket = (await world.file()).json()
    complaint = (await file(world, ticket_id=ticket["id"])).json()
    assert complaint["ticket_id"] == ticket["id"]
    changed = await world.entitlements().put(f"/v1/contracts/{contract['id']}/representatives", json={
        "customer": {"name": "Ewa Kowalska", "email": "ewa.kowalska@contoso.pl"}})
    assert changed.status_code == 200, changed.text
    world.clock.set(at("2026-11-30 12:00"))
    agent = world.tickets("agent", sub="agent-ola")
    answered = await agent.post(f"/v1/complaints/{complaint['id']}/answer",
                                json={"answer": "We escalated the Teams problem; calls are stable since Friday."})
    assert answered.status_code == 200, answered.text
    assert (answered.json()["status"], answered.json()["answered_to"]) == ("answered", "ewa.kowalska@contoso.pl")
    sent = (await world.receiver.wait_for("complaint.answered"))[0]["data"]
    assert (sent["email"], sent["in_time"]) == ("ewa.kowalska@contoso.pl", True)
    assert sent["answer"].startswith("We escalated")
    again = await agent.post(f"/v1/complaints/{complaint['id']}/answer", json={"answer": "again"})
    assert (again.status_code, again.json()["error"]) == (409, "complaint_already_answered")
    extend = await agent.post(f"/v1/complaints/{complaint['id']}/extend", json={"reason": "x",
                                                                               "expected_on": "2027-01-10"})
    assert extend.json()["error"] == "complaint_already_answered"


async def test_overdue_complaints_are_listed_R_T9(world):
    world.clock.set(at("2026-11-23 10:00"))
    await world.contract()
    crm, agent = world.tickets("crm"), world.tickets("agent")
    late = (await file(world, subject="A", received_at=at("2026-11-02 10:00").isoformat())).json()  # due 2 Dec
    extended = (await file(world, subject="B", received_at=at("2026-11-10 10:00").isoformat())).json()  # 10 Dec
    answered = (await file(world, subject="C", received_at=at("2026-11-03 10:00").isoformat())).json()  # 3 Dec
    fresh = (await file(world, subject="D")).json()  # due 23 Dec
    await agent.post(f"/v1/complaints/{extended['id']}/extend", json={"reason": "Complex",
                                                                      "expected_on": "2027-01-05"})
    await agent.post(f"/v1/complaints/{answered['id']}/answer", json={"answer": "Done."})

    async def overdue(as_of: str) -> list[str]:
        found = (await crm.get("/v1/complaints", params={"overdue": "true", "as_of": as_of})).json()
        assert all(c["overdue"] for c in found)
        return [c["subject"] for c in found]

    assert await overdue("2026-12-02") == []
    assert await overdue("2026-12-15") == ["A"]  # B's extended date still runs; C was answered
    assert await overdue("2026-12-24") == ["A", "D"]
    assert await overdue("2027-01-06") == ["A", "B", "D"]
    everything = (await crm.get("/v1/complaints")).json()
    assert {c["id"] for c in everything} == {late["id"], extended["id"], answered["id"], fresh["id"]}
    assert [c["subject"] for c in (await crm.get("/v1/complaints", params={"status": "extended"})).json()] == ["B"]


async def test_customers_see_and_file_only_their_own_complaints(world):
    world.clock.set(at("2026-11-23 09:00"))
    await world.contract()
    await world.contract(customer_id="cust-2")
    ticket = await vip_ticket(world)
    session = (await report(world, ticket["id"], "2026-11-23 08:30", 20)).json()
    mine = (await file(world)).json()
    theirs = (await file(world, customer_id="cust-2")).json()
    customer = world.tickets("customer", customer_id="cust-1")
    assert (await customer.get(f"/v1/complaints/{mine['id']}")).status_code == 200
    hidden = await customer.get(f"/v1/complaints/{theirs['id']}")
    assert (hidden.status_code, hidden.json()["error"]) == (404, "complaint_not_found")
    assert [c["id"] for c in (await customer.get("/v1/complaints")).json()] == [mine["id"]]
    assert (await customer.get("/v1/complaints", params={"customer_id": "cust-2"})).status_code == 404
    assert (await file(world, customer, customer_id="cust-2")).status_code == 404
    about_theirs = await file(world, customer, remote_session_id=session["id"])
    assert (about_theirs.status_code, about_theirs.json()["error"]) == (404, "remote_session_not_found")
    vip = world.tickets("customer", customer_id="vip")
    assert (await vip.get(f"/v1/remote-sessions/{session['id']}")).status_code == 200
    backdated = await file(world, customer, received_at=at("2026-11-20 09:00").isoformat())
    assert backdated.status_code == 403
    future = await file(world, received_at=at("2026-11-24 09:00").isoformat())
    assert (future.status_code, future.json()["error"]) == (422, "instant_in_future")
    answer = await customer.post(f"/v1/complaints/{mine['id']}/answer", json={"answer": "self-service"})
    assert answer.status_code == 403
