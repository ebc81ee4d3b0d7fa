"""Property: a purchase with arbitrary Unicode in every free-text field of its billing details is
either refused with a 4xx naming what is wrong, or fully served: the contract is created, billing
issues its first invoice, and that invoice renders as a PDF and as FA(3) XML valid against the
XSD (R-B3, R-B10). Never a 5xx, never a numbered invoice that cannot be exported. On SQLite and
PostgreSQL; the examples are derandomized so a CI run is reproducible."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.billing.conftest import BillingWorld
from tests.entitlements.helpers import purchase_body
from tests.support.unicode_text import free_text, mostly_printable

PROPERTY = settings(max_examples=25, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

billing_texts = st.fixed_dictionaries({
    "name": mostly_printable(), "street": mostly_printable(), "city": mostly_printable(),
    "postal_code": st.one_of(st.just("00-850"), st.just("00-850"), st.just("00-850"), free_text(8)),
})


@PROPERTY
@given(texts=billing_texts, order_ref=st.one_of(st.none(), mostly_printable()),
       representative=mostly_printable())
async def test_any_billing_text_is_refused_with_a_4xx_or_invoiced_as_an_exportable_document_R_B10(
        bw: BillingWorld, texts: dict[str, str], order_ref: str | None, representative: str):
    body: dict[str, Any] = purchase_body(customer_id=f"cust-{uuid.uuid4().hex[:8]}",
                                         reference=f"t-{uuid.uuid4().hex[:8]}", order_ref=order_ref,
                                         representative={"name": representative, "email": "it@contoso.pl"})
    body["billing"] = {"nip": body["billing"]["nip"], "email": body["billing"]["email"], **texts}
    answer = await bw.entitlements("shop").post("/v1/purchases", json=body,
                                                 headers={"Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code < 500, answer.text
    event(f"answered {answer.status_code}")
    if answer.status_code != 201:
        assert 400 <= answer.status_code < 500 and answer.json()["error"], answer.text
        return
    contract = answer.json()
    first = await bw.invoice_where(contract["id"], lambda i: i["purpose"] == "first", "the first invoice")
    assert first["buyer"]["name"] == texts["name"].strip(), first["buyer"]
    for document, media in (("pdf", "application/pdf"), ("ksef.xml", "application/xml")):
        rendered = await bw.billing().get(f"/v1/invoices/{first['id']}/{document}")
        assert rendered.status_code == 200, (document, rendered.text[:500])
        assert rendered.headers["content-type"].startswith(media)
