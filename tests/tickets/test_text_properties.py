"""Property: a ticket filed with arbitrary Unicode in its subject, description and contact name
is either refused with a 4xx naming the field, or filed and read back as sent (trimmed), on
SQLite and PostgreSQL (which cannot store U+0000 at all). Never a 5xx. Derandomized examples,
so a CI run is reproducible."""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings

from tests.support.unicode_text import mostly_printable
from tests.tickets.conftest import World

PROPERTY = settings(max_examples=30, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@PROPERTY
@given(subject=mostly_printable(120), name=mostly_printable(),
       description=mostly_printable(400).map(lambda text: "Since Monday, every time: " + text))  # R-T1: ≥ 20
async def test_any_ticket_text_is_refused_with_a_4xx_or_filed_and_read_back_as_sent(
        world: World, subject: str, description: str, name: str):
    if not getattr(world, "_entitled", False):  # one contract for every example
        await world.contract()
        world._entitled = True  # type: ignore[attr-defined]
    answer = await world.file(subject=subject, description=description,
                              contact={"name": name, "email": "anna@contoso.pl"})
    assert answer.status_code < 500, answer.text
    event(f"answered {answer.status_code}")
    if answer.status_code != 201:
        assert answer.json()["error"], answer.text
        return
    ticket = (await world.tickets("agent").get(f"/v1/tickets/{answer.json()['id']}")).json()
    assert (ticket["subject"], ticket["contact"]["name"]) == (subject.strip(), name.strip()), ticket
    history = await world.tickets("agent").get(f"/v1/tickets/{ticket['id']}/history")
    assert history.status_code == 200, history.text
