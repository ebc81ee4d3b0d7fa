"""The agent SPA at /agent/, driven in Debian's Chromium: sign-in (pasted token, OIDC code + PKCE),
the queue in the API's order with live countdowns and SLA colours, a ticket worked by keyboard
and mouse, refusals shown with the API's own message, callbacks, remote sessions, complaints with
their deadlines, force-majeure windows, the SLA report chart, and a lost connection."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from shared.devkeys import DEV_KID, mint_token
from tests.browser.conftest import Desk, screenshot

pytestmark = pytest.mark.timeout(180)

IDP = "https://idp.example.test"
OIDC = {"agent_oidc_authorize_url": f"{IDP}/authorize", "agent_oidc_token_url": f"{IDP}/token",
        "agent_oidc_client_id": "agent-spa", "agent_oidc_scope": "openid tickets"}


def expect(target: Any) -> Any:
    from playwright.async_api import expect as _expect

    return _expect(target)


async def sign_in(page: Any, desk: Desk, role: str = "agent", sub: str = "agent-ola") -> None:
    await page.goto(f"{desk.url}/agent")  # redirected to /agent/
    await page.get_by_label("Access token (JWT)").fill(desk.token(role, sub))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#queue-h")).to_be_visible()
    await expect(page.locator("#who-name")).to_contain_text(sub)


def row(page: Any, ticket_id: str) -> Any:
    return page.locator(f'#queue-table tr[data-ticket-id="{ticket_id}"]')


async def every_control_is_labelled(page: Any) -> None:
    unlabelled = await page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                      && !(el.tagName === 'BUTTON' && el.textContent.trim()))
        .map(el => el.outerHTML)""")
    assert unlabelled == []


def only_own_origin(page: Any, desk: Desk, *others: str) -> None:
    """Nothing is fetched from anywhere else (no CDN, no fonts, no analytics); no CSP violation,
    no uncaught error."""
    foreign = [u for u in page.log.requests if not u.startswith((desk.url, "data:", *others))]
    assert foreign == []
    assert page.log.errors == []


async def test_sign_in_queue_countdowns_and_a_ticket_worked_by_keyboard(desk: Desk, page: Any, backend: str):
    ids = desk.ids
    agent = desk.client("agent", "agent-ola")
    await sign_in(page, desk)

    # ---- the queue, in the API's order: priority first, then time to breach -----------------------
    api_order = [t["id"] for t in (await agent.get("/v1/tickets")).json()["items"]]
    assert api_order[0] == ids["vip"] and api_order.index(ids["breached"]) < api_order.index(ids["running"])
    rows = page.locator("#queue-table tbody tr[data-ticket-id]")
    await expect(rows).to_have_count(len(api_order))
    assert await rows.evaluate_all("rows => rows.map(r => r.dataset.ticketId)") == api_order
    await expect(row(page, ids["vip"]).locator(".badge-high")).to_have_text("High")
    await every_control_is_labelled(page)

    # colours for breached / warning / on time / paused, each with words (clock-skew corrected:
    # the server's day is 23 Nov 2026 13:00, not the browser's)
    sla = {key: row(page, ids[key]).locator(".sla") for key in ("breached", "warning", "running", "paused", "met")}
    await expect(sla["breached"]).to_have_class(re.compile(r"\bsla-breached\b"))
    await expect(sla["breached"]).to_have_text(re.compile(r"^Breached 0h 3\dm \d\ds ago$"))
    await expect(sla["warning"]).to_have_class(re.compile(r"\bsla-warning\b"))
    await expect(sla["warning"]).to_have_text(re.compile(r"^Warning — 0h 4\dm \d\ds left$"))
    await expect(sla["running"]).to_have_class(re.compile(r"\bsla-ok\b"))
    await expect(sla["running"]).to_have_text(re.compile(r"^19h \d\dm \d\ds left$"))  # due Tue 08:45
    await expect(sla["paused"]).to_have_class(re.compile(r"\bsla-paused\b"))
    await expect(sla["paused"]).to_contain_text("Paused")
    await expect(sla["met"]).to_have_class(re.compile(r"\bsla-met\b"))
    colours = {key: await loc.evaluate("el => getComputedStyle(el).backgroundColor") for key, loc in sla.items()
               if key != "met"}
    assert len(set(colours.values())) == 4, colours

    # the countdowns run, second by second, in the browser
    before = await sla["running"].text_content()
    await expect(sla["running"]).not_to_have_text(before, timeout=3000)
    await screenshot(page, f"queue-{backend}")

    # ---- open a ticket with the keyboard only ------------------------------------------------------
    target = ids["running"]
    for _ in range(60):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement?.closest('tr')?.dataset.ticketId ?? null") == target:
            break
    else:
        pytest.fail("Tab never reached the queue row")
    await page.keyboard.press("Enter")
    await expect(page.locator("article.ticket h1")).to_have_text("SharePoint permissions reset")
    assert page.url.endswith(f"#/tickets/{target}")
    head = page.locator(".ticket-head")
    status = head.locator(".badge-status")
    await expect(status).to_have_text("New")

    # an internal note: in the thread, marked as internal
    message = page.get_by_label("Your message")
    await message.fill("Checked the tenant: the site inherits its permissions from the root site.")
    await page.get_by_role("button", name="Add internal note").click()
    internal = page.locator('article.msg[data-visibility="internal"]')
    await expect(internal).to_have_count(1)
    await expect(internal).to_contain_text("Internal note — not shown to the customer")
    await expect(internal).to_contain_text("Checked the tenant")

    # request details: the clock pauses
    await page.get_by_label("What should the customer add?").fill("Which site collection lost its permissions?")
    await page.get_by_role("button", name="Request details (pauses the SLA clock)").click()
    await expect(head.locator(".sla")).to_have_text(re.compile(r"^Paused"))
    await expect(head.locator(".sla")).to_have_class(re.compile(r"\bsla-paused\b"))
    await expect(status).to_have_text("Waiting for customer")

    # a reply the API refuses (blank once trimmed) shows the API's own message; nothing is lost
    refused = (await agent.post(f"/v1/tickets/{target}/messages", json={"body": "   "})).json()
    await message.fill("   ")
    await page.get_by_role("button", name="Send public reply").click()
    error = page.locator('form[data-form="reply"] .form-error')
    await expect(error).to_be_visible()
    await expect(error).to_contain_text(refused["detail"])
    await expect(error).to_contain_text(refused["error"])

    # a public reply: the first reaction, the SLA is met
    await message.fill("The root site had broken inheritance; permissions are restored.")
    await page.get_by_role("button", name="Send public reply").click()
    await expect(page.locator('article.msg[data-visibility="public"]').last).to_contain_text("permissions are restored")
    await expect(head.locator(".sla")).to_have_text(re.compile(r"^Met"))

    # resolve, reopen; reopening an open ticket is refused with the API's message
    await page.get_by_label("Resolution note (optional)").fill("Inheritance fixed")
    await page.get_by_role("button", name="Resolve").click()
    await expect(status).to_have_text("Resolved")
    await page.get_by_role("button", name="Reopen").click()
    await expect(status).to_have_text("Open")
    refused = (await agent.post(f"/v1/tickets/{target}/reopen")).json()
    await page.get_by_role("button", name="Reopen").click()
    error = page.locator('form[data-form="reopen"] .form-error')
    await expect(error).to_contain_text(refused["detail"])

    # assign to me, then to a colleague
    await page.get_by_role("button", name="Assign to me (agent-ola)").click()
    await expect(head.locator(".facts")).to_contain_text("agent-ola")
    await page.get_by_label("Assignee (agent id)").fill("agent-kasia")
    await page.get_by_role("button", name="Assign", exact=True).click()
    await expect(head.locator(".facts")).to_contain_text("agent-kasia")
    await expect(page.get_by_role("heading", name="Thread (4)")).to_be_visible()
    await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(page, f"ticket-{backend}")

    seen = (await agent.get(f"/v1/tickets/{target}")).json()
    assert (seen["status"], seen["assignee"], seen["sla"]["state"]) == ("open", "agent-kasia", "met")
    assert [m["visibility"] for m in seen["messages"]] == ["public", "internal", "public", "public"]
    only_own_origin(page, desk)


async def test_callbacks_remote_sessions_complaints_and_force_majeure(desk: Desk, page: Any, backend: str):
    ids = desk.ids
    agent = desk.client("agent", "agent-ola")
    await sign_in(page, desk)
    await row(page, ids["vip"]).get_by_role("link").click()
    await expect(page.locator("article.ticket h1")).to_have_text("Symfonia closes when posting invoices")
    await expect(page.locator('article.msg[data-visibility="internal"]')).to_contain_text("posting template")
    await every_control_is_labelled(page)

    # a callback attempt (R-S2)
    card = page.locator(f'article.callback[data-callback-id="{ids["callback"]}"]')
    await card.get_by_label(re.compile(r"^Outcome of attempt 1")).select_option("no_answer")
    await card.get_by_label("Note (optional)").fill("Voicemail")
    await card.get_by_role("button", name="Record attempt 1").click()
    await expect(card.locator("tbody tr").nth(0)).to_contain_text("No answer")
    await expect(card.get_by_role("button", name="Record attempt 2")).to_be_visible()
    callback = (await agent.get(f"/v1/callbacks/{ids['callback']}")).json()
    assert [a["outcome"] for a in callback["attempts"]] == ["no_answer", None, None]

    # a remote-help session (R-S4): counted in entitlements, with its complaint deadline (R-S5)
    await page.get_by_text("Record a remote-help session").click()
    await page.get_by_label("Started at (your local time)").fill("2026-11-23T12:40")
    await page.get_by_label("Minutes").fill("25")
    await page.get_by_label("Program the customer named").fill("Symfonia Handel")
    await page.get_by_role("button", name="Record remote session").click()
    sessions = page.locator("#remote-sessions tbody tr")
    await expect(sessions).to_have_count(1)
    await expect(sessions.first).to_contain_text("Symfonia Handel")
    await expect(sessions.first).to_contain_text("Mon 23 Nov, 17:00")  # end of that business day
    recorded = (await agent.get(f"/v1/tickets/{ids['vip']}/remote-sessions")).json()
    assert [(r["program"], r["minutes"]) for r in recorded] == [("Symfonia Handel", 25)]
    await expect(page.locator(".ticket-head .sla")).to_have_text(re.compile(r"^Met"))  # the first reaction

    # a refused remote session (in the future for the server) shows the API's message
    await page.get_by_text("Record a remote-help session").click()
    await page.get_by_label("Started at (your local time)").fill("2026-11-24T09:00")
    await page.get_by_label("Program the customer named").fill("Symfonia Handel")
    await page.get_by_role("button", name="Record remote session").click()
    await expect(page.locator('form[data-form="remote"] .form-error')).to_contain_text("instant_in_future")

    # the complaint with its deadline: 30 days from receipt (R-T9), on its ticket and in the list
    complaint = (await agent.get(f"/v1/complaints/{ids['complaint']}")).json()
    due = date.fromisoformat(complaint["answer_due_on"]).strftime("%d %b %Y")
    await page.goto(f"{desk.url}/agent/#/tickets/{ids['met']}")
    await expect(page.locator("#ticket-complaints")).to_contain_text(f"Answer due {due} · 30 days left")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Complaints").click()
    item = page.locator(f'article.complaint[data-complaint-id="{ids["complaint"]}"]')
    await expect(item).to_contain_text(f"Answer due {due} · 30 days left")
    await expect(item).to_contain_text("The remote session ended before the backup was checked")
    await every_control_is_labelled(page)
    await screenshot(page, f"complaints-{backend}")

    # force-majeure windows (R-T6), read by agents; declaring one is for supervisors
    await page.get_by_role("link", name="Force majeure").click()
    windows = page.locator("#outage-table tbody tr")
    await expect(windows).to_have_count(1)
    await expect(windows.first).to_contain_text("Sage licence server outage (vendor side)")
    await expect(windows.first).to_contain_text("Force majeure")
    await expect(windows.first).to_contain_text("sage-warranty")
    refused = (await agent.post("/v1/outage-windows", json={
        "kind": "force_majeure", "starts_at": "2026-11-23T10:00:00+01:00", "ends_at": "2026-11-23T11:00:00+01:00",
        "description": "x", "products": []})).json()
    await page.get_by_text("Declare a window (supervisors)").click()
    await page.get_by_label("Description (told to the affected customers)").fill("Datacentre power cut")
    await page.get_by_role("button", name="Declare window").click()
    await expect(page.locator('form[data-form="declare"] .form-error')).to_contain_text(refused["detail"])
    await every_control_is_labelled(page)
    only_own_origin(page, desk)


async def test_the_sla_report_is_a_chart_for_supervisors(desk: Desk, page: Any, backend: str):
    await sign_in(page, desk)
    refused = (await desk.client("agent").get("/v1/reports/sla", params={"period": "2026-11"})).json()
    await page.get_by_role("link", name="SLA report").click()
    await expect(page.locator(".report .error-panel")).to_contain_text(refused["detail"])  # agents may not

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Access token (JWT)")).to_be_visible()
    await expect(page.locator(".signin [role=status]")).to_have_text("You have signed out.")
    async with httpx.AsyncClient(base_url=desk.url) as anonymous:  # a token the API does not accept
        refused = (await anonymous.get("/v1/tickets", headers={"authorization": "Bearer not-a-token"})).json()
    await page.get_by_label("Access token (JWT)").fill("not-a-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".signin .form-error")).to_contain_text(refused["detail"])
    await expect(page.locator("#nav")).to_be_hidden()
    await expect(page.locator("#who")).to_have_text("Not signed in", use_inner_text=True)
    await sign_in(page, desk, "supervisor", "sup-ewa")
    await page.get_by_role("link", name="SLA report").click()
    chart = page.locator("svg#sla-chart")
    await expect(chart).to_be_visible()
    report = (await desk.client("supervisor").get("/v1/reports/sla", params={"period": "2026-11"})).json()
    plans = {r["plan_id"]: r for r in report["plans"]}
    assert set(plans) == {"o365-standard", "sage-warranty-vip"}
    assert (plans["o365-standard"]["breached"], plans["o365-standard"]["pending"]) == (1, 3)
    for plan, numbers in plans.items():
        bars = chart.locator(f'g[data-plan="{plan}"] rect.bar')
        parts = [k for k in ("met", "breached", "excused", "pending") if numbers[k]]
        await expect(bars).to_have_count(len(parts))
        assert await bars.evaluate_all("bars => bars.map(b => b.dataset.part)") == parts
        widths = await bars.evaluate_all("bars => bars.map(b => Number(b.getAttribute('width')))")
        assert all(w > 0 for w in widths)
    await expect(chart.locator('g[data-plan="o365-standard"]')).to_contain_text("0.0 % met (4)")
    await expect(page.locator("#report-table tbody tr")).to_have_count(2)
    await every_control_is_labelled(page)
    await screenshot(page, f"report-{backend}")
    only_own_origin(page, desk)


async def test_a_refused_sign_in_leaves_the_top_bar_signed_out(desk: Desk, page: Any, backend: str):
    who, sign_out = page.locator("#who"), page.get_by_role("button", name="Sign out")
    await page.goto(f"{desk.url}/agent/")
    await expect(page.get_by_label("Access token (JWT)")).to_be_visible()
    await expect(who).to_have_text("Not signed in", use_inner_text=True)
    await expect(sign_out).to_be_hidden()
    await expect(page.locator("#nav")).to_be_hidden()

    # a token that looks right (it names agent-eve) but that the API does not accept: another audience
    foreign = mint_token(desk.pem, kid=DEV_KID, issuer=desk.settings.jwt_issuer, audience="another-platform",
                         subject="agent-eve", role="agent")
    async with httpx.AsyncClient(base_url=desk.url) as anonymous:
        refused = (await anonymous.get("/v1/tickets", headers={"authorization": f"Bearer {foreign}"})).json()
    await page.get_by_label("Access token (JWT)").fill(foreign)
    await page.get_by_role("button", name="Sign in").click()
    error = page.locator(".signin .form-error")
    await expect(error).to_contain_text(refused["detail"])
    await expect(error).to_contain_text(f"({refused['error']}, HTTP 401)")  # the code, as other refusals show it
    await expect(who).to_have_text("Not signed in", use_inner_text=True)
    await expect(who).not_to_contain_text("Signed in as", use_inner_text=True)
    await expect(sign_out).to_be_hidden()
    await expect(page.locator("#nav")).to_be_hidden()
    assert await page.evaluate("sessionStorage.getItem('agent.token')") is None

    # the same token kept from an earlier visit: checked with the API before the desk shows anything
    await page.evaluate(f"sessionStorage.setItem('agent.token', {foreign!r})")
    await page.reload()
    notice = page.locator(".signin .error-panel")
    await expect(notice).to_contain_text("Your sign-in was refused")
    await expect(notice).to_contain_text(f"({refused['error']}, HTTP 401)")
    await expect(who).to_have_text("Not signed in", use_inner_text=True)
    await expect(page.locator("#who-name")).to_have_text("")
    await expect(page.locator("#nav")).to_be_hidden()
    await screenshot(page, f"signin-refused-{backend}")

    await sign_in(page, desk)  # and a good one afterwards
    await expect(who).to_contain_text("Signed in as agent-ola (agent)", use_inner_text=True)
    await expect(sign_out).to_be_visible()
    only_own_origin(page, desk)


async def test_a_lost_connection_shows_a_banner_and_recovers(desk: Desk, page: Any, backend: str):
    await sign_in(page, desk)
    banner = page.locator("#banner")
    await expect(banner).to_be_hidden()
    await desk.stop_serving()  # the server goes away
    await page.get_by_role("button", name="Apply").click()  # the queue is read again
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("Connection lost")
    await expect(banner).to_contain_text(re.compile(r"Retrying in \d+ s"))
    await expect(page.locator("#queue-table tbody tr[data-ticket-id]")).to_have_count(len(desk.ids) - 2)  # kept
    await screenshot(page, f"error-banner-{backend}")

    # a write while offline is not sent behind the agent's back; the form keeps the text
    await row(page, desk.ids["running"]).get_by_role("link").click()  # reading waits for the server…
    await desk.serve()  # …which comes back on the same port
    await expect(banner).to_be_hidden(timeout=20_000)
    await expect(page.locator("article.ticket h1")).to_have_text("SharePoint permissions reset")
    await expect(page.locator(".toast")).to_contain_text(["Connection restored"])

    await desk.stop_serving()
    await page.get_by_label("Your message").fill("Are you still there?")
    await page.get_by_role("button", name="Send public reply").click()
    await expect(page.locator('form[data-form="reply"] .form-error')).to_contain_text(
        "connection to the server was lost")
    await expect(banner).to_be_visible()
    await expect(page.get_by_label("Your message")).to_have_value("Are you still there?")
    await desk.serve()
    await expect(banner).to_be_hidden(timeout=20_000)
    await page.get_by_role("button", name="Send public reply").click()  # sent once, now
    await expect(page.locator('article.msg[data-visibility="public"]').last).to_contain_text("Are you still there?")
    thread = (await desk.client("agent").get(f"/v1/tickets/{desk.ids['running']}")).json()["messages"]
    assert [m["body"] for m in thread].count("Are you still there?") == 1
    assert page.log.errors == []


@pytest.mark.parametrize("tickets_overrides", [OIDC])
async def test_oidc_sign_in_redirects_with_pkce_and_exchanges_the_code(desk: Desk, page: Any):
    seen: dict[str, dict[str, str]] = {}

    async def authorize(route: Any) -> None:  # the identity provider, outside the system
        query = dict(parse_qsl(urlsplit(route.request.url).query))
        seen["authorize"] = query
        await route.fulfill(status=302, headers={
            "Location": f"{query['redirect_uri']}?code=code-123&state={query['state']}"})

    async def token(route: Any) -> None:
        seen["token"] = dict(parse_qsl(route.request.post_data or ""))
        await route.fulfill(status=200, content_type="application/json",
                            headers={"Access-Control-Allow-Origin": desk.url},
                            body=json.dumps({"access_token": desk.token("agent", "agent-oidc"),
                                             "token_type": "Bearer", "expires_in": 3600}))

    await page.route(f"{IDP}/authorize**", authorize)
    await page.route(f"{IDP}/token", token)
    await page.goto(f"{desk.url}/agent/")
    await expect(page.get_by_label("Access token (JWT)")).to_have_count(0)  # no pasting in OIDC mode
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#queue-h")).to_be_visible()
    await expect(page.locator("#who-name")).to_contain_text("agent-oidc")

    query = seen["authorize"]
    assert query["response_type"] == "code" and query["client_id"] == "agent-spa"
    assert query["redirect_uri"] == f"{desk.url}/agent/" and query["scope"] == "openid tickets"
    assert query["code_challenge_method"] == "S256" and len(query["state"]) >= 22
    form = seen["token"]
    assert (form["grant_type"], form["code"], form["client_id"], form["redirect_uri"]) == (
        "authorization_code", "code-123", "agent-spa", f"{desk.url}/agent/")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(b"=")
    assert challenge.decode() == query["code_challenge"]
    assert "code=" not in page.url and "state=" not in page.url  # the code leaves the address bar
    await expect(page.locator("#queue-table tbody tr[data-ticket-id]")).to_have_count(len(desk.ids) - 2)

    # a return this tab did not start (forged or replayed state) is refused
    await page.goto(f"{desk.url}/agent/?code=stolen&state=forged")
    await expect(page.locator(".signin .error-panel")).to_contain_text("state mismatch")
    assert len([u for u in page.log.requests if u.startswith(f"{IDP}/token")]) == 1
    only_own_origin(page, desk, IDP)
