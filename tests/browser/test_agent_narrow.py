"""The agent SPA in narrow windows (a small laptop split screen, a tablet, a phone: 800, 600 and
360 px wide): nothing runs off the side of any view, the main navigation folds behind a labelled
"Menu" button that works from the keyboard, and the queue stacks each ticket as a card whose every
value is on screen under its column's name. Wider than that, a queue wider than its box scrolls
sideways inside a labelled region that the keyboard can scroll."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import Desk, screenshot
from tests.browser.test_agent_spa import expect, only_own_origin, sign_in

pytestmark = pytest.mark.timeout(180)

WIDTHS = (360, 600, 800)
QUEUE_COLUMNS = ["Priority", "Ticket", "Customer", "Plan", "Status", "Assignee", "Reaction SLA", "Due (Warsaw)"]

# Every box drawn on the page that reaches past the left or right edge of the window and cannot
# be scrolled into view: not inside a sideways scroll container, and not visually hidden on
# purpose (the skip link until it has the focus, 1-px screen-reader text).
CUT_OFF = """() => {
  const width = document.documentElement.clientWidth;
  const hiddenOnPurpose = (el) => el.closest('.skip-link, .sr-only') !== null
    || [...ancestors(el)].some((a) => getComputedStyle(a).overflow !== 'visible' && a.clientWidth <= 1);
  function* ancestors(el) { for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) yield a; }
  const inScroller = (el) => [...ancestors(el)].some((a) => ['auto', 'scroll'].includes(getComputedStyle(a).overflowX));
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === 'hidden') continue;
    if ((box.right > width + 0.5 || box.left < -0.5) && !hiddenOnPurpose(el) && !inScroller(el)) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return {width, documentWidth: document.documentElement.scrollWidth, cutOff: out};
}"""


async def nothing_cut_off(page: Any, where: str) -> None:
    seen = await page.evaluate(CUT_OFF)
    assert seen["cutOff"] == [], f"{where} at {seen['width']} px"
    assert seen["documentWidth"] <= seen["width"], f"{where}: the page scrolls sideways at {seen['width']} px"


async def tab_to(page: Any, selector: str, presses: int = 30) -> None:
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await page.evaluate(f"document.activeElement?.matches({selector!r}) ?? false"):
            return
    pytest.fail(f"Tab never reached {selector}")


async def test_narrow_windows_fold_the_navigation_and_stack_the_queue(desk: Desk, page: Any, backend: str):
    ids = desk.ids
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto(f"{desk.url}/agent/")
    await expect(page.get_by_label("Access token (JWT)")).to_be_visible()
    await nothing_cut_off(page, "sign-in")
    await sign_in(page, desk)
    toggle = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")

    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 740})
        await page.goto(f"{desk.url}/agent/#/queue")
        await expect(page.locator("#queue-h")).to_be_visible()

        # the links fold behind the Menu button, which says whether it is open
        await expect(toggle).to_be_visible()
        await expect(toggle).to_have_attribute("aria-expanded", "false")
        await expect(toggle).to_have_attribute("aria-controls", "nav-list")
        await expect(nav.get_by_role("link", name="Callbacks")).to_be_hidden()

        # every ticket is a card with all eight values on screen, each under its column's name
        rows = page.locator("#queue-table tbody tr[data-ticket-id]")
        await expect(rows).to_have_count(len(ids) - 2)
        cards = await rows.evaluate_all("""(rows) => rows.map((row) => [...row.cells].map((cell) => {
            const box = cell.getBoundingClientRect();
            return {label: cell.dataset.label, shown: getComputedStyle(cell, '::before').content,
                    inside: box.left >= 0 && box.right <= document.documentElement.clientWidth && box.width > 0};
        }))""")
        for cells in cards:
            assert [c["label"] for c in cells] == QUEUE_COLUMNS
            assert [c["shown"] for c in cells] == [f'"{label}"' for label in QUEUE_COLUMNS]
            assert all(c["inside"] for c in cells), cells
        await expect(page.locator("#queue-table thead")).to_have_css("width", "1px")  # for screen readers only
        scroll = page.get_by_role("region", name="Tickets in the queue")
        assert await scroll.evaluate("el => el.scrollWidth <= el.clientWidth"), "a stacked queue needs no sideways scroll"
        await expect(row_sla(page, ids["breached"])).to_be_visible()
        await expect(row_sla(page, ids["breached"])).to_have_class(re.compile(r"\bsla-breached\b"))
        await nothing_cut_off(page, "queue")
        await screenshot(page, f"narrow-queue-{width}-{backend}")

        # the menu, by keyboard: Tab to the button, Enter opens it, the links are reachable
        await page.locator(".brand").click()  # the focus starts from the top of the page
        await tab_to(page, "#nav-toggle")
        await page.keyboard.press("Enter")
        await expect(toggle).to_have_attribute("aria-expanded", "true")
        for name in ("Queue", "Callbacks", "Complaints", "Force majeure", "SLA report"):
            await expect(nav.get_by_role("link", name=name)).to_be_visible()
        await expect(nav.get_by_role("link", name="Queue")).to_have_attribute("aria-current", "page")
        await nothing_cut_off(page, "open menu")
        if width == 360:
            await screenshot(page, f"narrow-menu-{width}-{backend}")
        await page.keyboard.press("Escape")  # closes it and gives the focus back to the button
        await expect(toggle).to_have_attribute("aria-expanded", "false")
        await expect(nav.get_by_role("link", name="Callbacks")).to_be_hidden()
        assert await page.evaluate("document.activeElement?.id") == "nav-toggle"
        await page.keyboard.press("Enter")
        for _ in range(6):  # through the five links and on: leaving the menu closes it
            await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement?.id") == "sign-out"
        await expect(toggle).to_have_attribute("aria-expanded", "false")
        await page.keyboard.press("Shift+Tab")  # back to the button (the links are folded away again)
        assert await page.evaluate("document.activeElement?.id") == "nav-toggle"
        await page.keyboard.press("Enter")
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement?.textContent") == "Queue"
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")  # Callbacks
        await expect(page.locator("main h1")).to_have_text("Callbacks")
        assert page.url.endswith("#/callbacks")
        await expect(toggle).to_have_attribute("aria-expanded", "false")  # choosing a view closes the menu
        await nothing_cut_off(page, "callbacks")

        # the other views fit as well
        for view, ready in ((f"#/tickets/{ids['vip']}", "article.ticket h1"), ("#/complaints", "main h1"),
                            ("#/outages", "#outage-table"), ("#/report", "main h1")):
            await page.goto(f"{desk.url}/agent/{view}")
            await expect(page.locator(ready)).to_be_visible()
            await nothing_cut_off(page, view)
            if view.startswith("#/tickets/"):
                await page.evaluate("window.scrollTo(0, 0)")
                await screenshot(page, f"narrow-ticket-{width}-{backend}")
    only_own_origin(page, desk)


def row_sla(page: Any, ticket_id: str) -> Any:
    return page.locator(f'#queue-table tr[data-ticket-id="{ticket_id}"] .sla')


async def test_a_queue_wider_than_its_box_scrolls_sideways_by_keyboard(desk: Desk, page: Any, backend: str):
    await sign_in(page, desk)
    await page.set_viewport_size({"width": 900, "height": 740})
    await expect(page.get_by_role("button", name="Menu")).to_be_hidden()  # wide enough: the links show
    await expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Callbacks")).to_be_visible()
    await expect(page.locator("#queue-table thead th")).to_have_text(QUEUE_COLUMNS)  # a table again
    scroll = page.get_by_role("region", name="Tickets in the queue")
    assert await scroll.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    assert await scroll.evaluate("el => el.scrollWidth > el.clientWidth"), "at 900 px the queue is wider than its box"
    await scroll.focus()
    for _ in range(15):
        await page.keyboard.press("ArrowRight")
    # Chromium scrolls by keyboard smoothly: the offset grows over the next frames, later on a loaded machine
    await page.wait_for_function("el => el.scrollLeft > 0", arg=await scroll.element_handle(), timeout=10_000)
    due = page.locator(f'#queue-table tr[data-ticket-id="{desk.ids["running"]}"] td[data-label="Due (Warsaw)"]')
    await due.scroll_into_view_if_needed()
    box, frame = await due.bounding_box(), await scroll.bounding_box()
    assert box["x"] + box["width"] <= frame["x"] + frame["width"] + 1  # the last column can be reached
    await nothing_cut_off(page, "queue at 900 px")
    await screenshot(page, f"narrow-queue-900-scrolled-{backend}")
