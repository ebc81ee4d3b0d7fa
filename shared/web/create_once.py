"""The HTTP edge of the atomic create (shared/atomic_create.py): a create route in one call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Awaitable, Callable, Sequence

from fastapi import Request
from fastapi.responses import Response

from shared.atomic_create import AtomicCreate, Claim, Event, RawJSON, Row, Taken
from shared.errors import DomainError, IdempotencyInProgress
from shared.web.idempotency import read_key, request_fingerprint, settle_existing


@dataclass
class Prepared:
    """A create decided and not yet written: the response and what to write."""

    status_code: int
    response_json: str  # the response body, serialised once (e.g. `model.model_dump_json()`)
    rows: Sequence[Row]
    events: Sequence[Event] = ()


async def create_once(request: Request, owner: str, prepare: Callable[[datetime], Awaitable[Prepared]]) -> Response:
    """Runs an idempotent create under the request's `Idempotency-Key` (required): decides it
    with `prepare(now)`, writes it atomically with the key and its events, wakes the relay.
    A key already used replays its response (`Idempotent-Replayed: true`) — even when deciding
    anew would fail now (say, a dependency is down) — or is refused (422, 409)."""
    runtime = request.app.state.runtime
    key = read_key(request, required=True)
    assert key is not None
    fingerprint = await request_fingerprint(request)
    now = runtime.clock.now()
    creates: AtomicCreate = runtime.creates
    try:
        prepared = await prepare(now)
    except DomainError:
        _settle(key, fingerprint, await creates.taken(owner, key), missing_ok=True)
        raise
    outcome = await creates.write(
        Claim(owner=owner, key=key, method=request.method, path=request.scope["path"], fingerprint=fingerprint,
              status_code=prepared.status_code, response_body=RawJSON(prepared.response_json)),
        prepared.rows, prepared.events, now)
    if not outcome.written:
        _settle(key, fingerprint, outcome.taken, missing_ok=False)
    if outcome.to_deliver:
        runtime.after_commit()
    return Response(prepared.response_json, status_code=prepared.status_code, media_type="application/json")


def _settle(key: str, fingerprint: str, taken: Taken | None, *, missing_ok: bool) -> None:
    if taken is None:
        if missing_ok:
            return
        raise IdempotencyInProgress()  # its writer gave up between our claim and our look: retry
    settle_existing(key, fingerprint, record_fingerprint=taken.fingerprint, method=taken.method, path=taken.path,
                    status_code=taken.status_code, body=taken.response_body)
