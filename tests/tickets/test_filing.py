"""Filing tickets: entitlement snapshot, reaction deadline, scope, free plan, TAM (R-T1, R-T4, R-T5,
R-T7, R-T8, R-S3, R-E4)."""

from __future__ import annotations

import base64

from tests.tickets.conftest import at


async def test_ticket_keeps_the_plan_and_a_deadline_in_support_hours_R_T4_R_T5(world):
    world.clock.set(at("2026-11-20 15:00"))  # Friday
    contract = await world.contract()
    response = await world.file()
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["status"] == "new"
    assert ticket["plan"] == {"plan_id": "o365-standard", "plan_version": 1, "plan_name": "Standard",
                              "source": "contract", "contract_id": contract["id"]}
    # 1 h 30 min used on Friday (15:00–16:30), 2 h 30 min on Monday from 08:30
    assert ticket["sla"]["reaction_due_at"].startswith("2026-11-23T10:00:00")  # Monday 11:00 CET
    assert ticket["sla"]["state"] == "running" and ticket["sla"]["contractual"] is True
    assert ticket["out_of_scope"] is False
    created = (await world.receiver.wait_for("ticket.created"))[0]["data"]
    assert created["ticket_id"] == ticket["id"] and created["plan_id"] == "o365-standard"


async def test_deadline_skips_a_polish_holiday_R_T5(world):
    world.clock.set(at("2026-11-10 15:00"))  # Tuesday; 11 Nov is Independence Day
    await world.contract()
    ticket = (await world.file()).json()
    assert ticket["sla"]["reaction_due_at"].startswith("2026-11-12T10:00:00")  # Thursday 11:00 CET


async def test_out_of_scope_categories_are_flagged_not_dropped_R_T7(world):
    await world.contract()
    excluded = (await world.file(category="mailbox_migration")).json()
    assert excluded["out_of_scope"] is True and "excluded" in excluded["scope_note"]
    not_covered = (await world.file(category="remote_resolution")).json()  # Advanced only
    assert not_covered["out_of_scope"] is True and "not covered" in not_covered["scope_note"]
    customer = world.tickets("customer", customer_id="cust-1")
    seen = (await customer.get(f"/v1/tickets/{excluded['id']}")).json()
    assert seen["out_of_scope"] is True


async def test_advanced_tickets_go_to_the_tam_and_first_in_queue_R_T8_R_S3(world):
    world.clock.set(at("2026-11-21 09:00"))  # Saturday: Advanced hours include it
    contract = await world.contract(customer_id="vip", plan_id="o365-advanced")
    await world.entitlements().put(f"/v1/contracts/{contract['id']}/representatives", json={
        "customer": {"name": "Anna", "email": "anna@contoso.pl"},
        "seller": {"name": "Piotr", "email": "piotr.tam@reseller.pl"}})
    ticket = (await world.file(customer_id="vip", category="admin_management")).json()
    assert ticket["assignee"] == "piotr.tam@reseller.pl"
    assert ticket["priority"] == 1
    assert ticket["sla"]["reaction_due_at"].startswith("2026-11-21T12:00:00")  # 4 h on Saturday: 13:00 CET


async def test_suspended_contract_files_on_the_free_plan_R_E4(world):
    world.clock.set(at("2026-11-20 15:00"))
    contract = await world.contract()
    await world.entitlements().post(f"/v1/contracts/{contract['id']}/suspend")
    ticket = (await world.file(category="documented_solutions")).json()
    assert ticket["plan"]["plan_id"] == "o365-free" and ticket["plan"]["source"] == "free_plan"
    assert ticket["sla"]["contractual"] is False
    # 24 h estimate and 48 h limit on business days round the clock: Fri 15:00 → Mon 15:00 → Tue 15:00
    assert ticket["sla"]["reaction_due_at"].startswith("2026-11-23T14:00:00")
    assert ticket["sla"]["limit_due_at"].startswith("2026-11-24T14:00:00")


async def test_no_entitlement_is_403_with_the_reason(world):
    await world.entitlements().post("/v1/customers/sage-only/licences", json={"product": "sage", "reference": "S-1"})
    response = await world.file(customer_id="sage-only", product="sage-warranty", category="online_help")
    assert (response.status_code, response.json()["error"]) == (403, "no_entitlement")
    assert "no licence" in response.json()["detail"] or "paid contract" in response.json()["detail"]
    unknown = await world.file(product="nope")
    assert (unknown.status_code, unknown.json()["error"]) == (422, "unknown_product")


async def test_a_ticket_needs_a_detailed_description_R_T1(world):
    await world.contract()
    response = await world.file(description="help")
    assert (response.status_code, response.json()["error"]) == (422, "description_too_short")


async def test_oversized_attachment_is_refused(world):
    await world.contract()
    big = base64.b64encode(b"x" * (world.settings.max_attachment_bytes + 1)).decode()
    response = await world.file(attachments=[{"filename": "dump.bin", "content_base64": big}])
    assert (response.status_code, response.json()["error"]) == (422, "attachment_too_large")


async def test_attachment_is_kept_and_downloadable_by_the_customer(world):
    await world.contract()
    ticket = (await world.file(attachments=[{"filename": "log.txt", "content_type": "text/plain",
                                             "content_base64": base64.b64encode(b"error 42").decode()}])).json()
    [attachment] = ticket["messages"][0]["attachments"]
    customer = world.tickets("customer", customer_id="cust-1")
    download = await customer.get(f"/v1/tickets/{ticket['id']}/attachments/{attachment['id']}")
    assert (download.status_code, download.content) == (200, b"error 42")


async def test_filing_is_idempotent(world):
    await world.contract()
    crm = world.tickets("crm")
    from tests.tickets.conftest import ticket_body

    first = await crm.post("/v1/tickets", json=ticket_body(), headers={"Idempotency-Key": "t-1"})
    again = await crm.post("/v1/tickets", json=ticket_body(), headers={"Idempotency-Key": "t-1"})
    assert first.json()["id"] == again.json()["id"]
    listed = (await crm.get("/v1/tickets", params={"customer_id": "cust-1"})).json()["items"]
    assert len(listed) == 1


async def test_customers_file_for_themselves_only(world):
    await world.contract(customer_id="cust-1")
    other = world.tickets("customer", customer_id="cust-2")
    response = await world.file(client=other, customer_id="cust-1")
    assert response.status_code == 404
    own = world.tickets("customer", customer_id="cust-1")
    assert (await world.file(client=own)).status_code == 201


async def test_a_ticket_with_characters_xml_cannot_carry_is_refused_naming_the_field(world):
    """NUL and other C0 controls would fail on PostgreSQL (500) or in the acknowledgement mail:
    422 naming the field; tab and newlines are text."""
    await world.contract()
    for field, value in (("subject", "Teams\u0000calls"), ("description", "Calls drop\u0001 after five minutes "
                                                                           "every time since Monday.")):
        refused = await world.file(**{field: value})
        assert refused.status_code == 422, refused.text
        assert [f["field"] for f in refused.json()["fields"]] == [f"body.{field}"]
    contact = await world.file(contact={"name": "Anna\u0007Nowak", "email": "anna@contoso.pl"})
    assert [f["field"] for f in contact.json()["fields"]] == ["body.contact.name"]
    fine = await world.file(description="Since Monday:\n\tevery Teams call drops after about five minutes.")
    assert fine.status_code == 201, fine.text
