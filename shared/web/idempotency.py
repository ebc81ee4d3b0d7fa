"""`Idempotency-Key` for POSTs that create things.

The record is inserted in the request's own transaction, before the work, and completed with
the response just before commit; so the key and the effect commit together or not at all.
A concurrent request with the same key blocks on the key's primary key until the first commits,
then replays its response. Two statements per request: the claiming INSERT and the final UPDATE. Same key, different request → 422 `idempotency_key_reused`.
Failed requests (4xx) roll back and leave no record: a retry after fixing the cause runs anew.
"""

from __future__ import annotations

import hashlib

import orjson
from typing import Annotated, Any, Callable

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared.auth import Principal
from shared.web.auth import current_principal
from shared.errors import IdempotencyInProgress, IdempotencyKeyRequired, IdempotencyKeyReused, Unprocessable
from shared.infra_models import IdempotencyRecord
from shared.uow import UnitOfWork
from shared.web.uow import UoW

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
REPLAY_HEADER = "Idempotent-Replayed"


class IdempotentReplay(Exception):
    """Raised to short-circuit a request whose key already has a stored response."""

    def __init__(self, status_code: int, body: Any) -> None:
        self.status_code, self.body = status_code, body


def _fingerprint(method: str, path: str, raw: bytes) -> str:
    try:
        canonical = orjson.dumps(orjson.loads(raw or b"null"), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = raw
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def settle_existing(key: str | None, fingerprint: str, *, record_fingerprint: str, method: str, path: str,
                    status_code: int | None, body: Any) -> None:
    """A key that is already taken, by this caller: a different request under it → 422
    `idempotency_key_reused`; one still in progress → 409; otherwise its response is replayed."""
    if record_fingerprint != fingerprint:
        raise IdempotencyKeyReused(f"Idempotency-Key {key!r} was first used for a different request "
                                   f"({method} {path}); use a new key for a new request")
    if status_code is None:
        raise IdempotencyInProgress()
    raise IdempotentReplay(status_code, body)


def read_key(request: Request, *, required: bool) -> str | None:
    """The request's `Idempotency-Key`, checked (1 to 200 characters); missing → 400 when required."""
    key = request.headers.get(HEADER)
    if key is not None:
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise Unprocessable(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters")
    elif required:
        raise IdempotencyKeyRequired(f"send an {HEADER} header (a UUID per logical request)")
    return key


async def request_fingerprint(request: Request) -> str:
    """What a key is bound to: method, path and the canonical JSON body."""
    return _fingerprint(request.method, request.scope["path"], await request.body())


class Idempotency:
    def __init__(self, uow: UnitOfWork, owner: str, key: str | None, method: str, path: str, fingerprint: str) -> None:
        self.uow, self.owner, self.key = uow, owner, key
        self.method, self.path, self.fingerprint = method, path, fingerprint

    async def _existing(self) -> IdempotencyRecord | None:
        stmt = (select(IdempotencyRecord)
                .where(IdempotencyRecord.owner == self.owner, IdempotencyRecord.key == self.key)
                .execution_options(populate_existing=True))
        return (await self.uow.session.execute(stmt)).scalar_one_or_none()

    def _check(self, record: IdempotencyRecord) -> None:
        settle_existing(self.key, self.fingerprint, record_fingerprint=record.fingerprint, method=record.method,
                        path=record.path, status_code=record.status_code, body=record.response_body)

    async def begin(self) -> None:
        """Claim the key with one `INSERT … ON CONFLICT DO NOTHING RETURNING`: a new key is ours;
        an existing one (committed earlier, or by a concurrent request this statement waited
        for) is replayed or refused."""
        if self.key is None:
            return
        session = self.uow.session
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        claimed = await session.execute(
            insert(IdempotencyRecord)
            .values(owner=self.owner, key=self.key, method=self.method, path=self.path,
                    fingerprint=self.fingerprint, created_at=self.uow.clock.now())
            .on_conflict_do_nothing(index_elements=["owner", "key"])
            .returning(IdempotencyRecord.key))
        if claimed.first() is not None:
            return
        existing = await self._existing()
        if existing is None:
            raise IdempotencyInProgress()
        self._check(existing)

    async def respond(self, status_code: int, content: Any) -> JSONResponse:
        """Serialise the response once, store it under the key, and return it."""
        body = jsonable_encoder(content)
        if self.key is not None:
            await self.uow.session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.owner == self.owner, IdempotencyRecord.key == self.key)
                .values(status_code=status_code, response_body=body))
        return JSONResponse(body, status_code=status_code)


def _dependency(required: bool) -> Callable[..., Any]:
    async def _idempotency(request: Request, uow: UoW,
                           principal: Annotated[Principal, Depends(current_principal)]) -> Idempotency:
        key = read_key(request, required=required)
        idem = Idempotency(uow, principal.sub, key, request.method, request.url.path,
                           await request_fingerprint(request))
        await idem.begin()
        return idem

    _idempotency.idempotency_key = "required" if required else "optional"  # type: ignore[attr-defined] # OpenAPI
    return _idempotency


IdempotencyRequired = Annotated[Idempotency, Depends(_dependency(required=True))]
IdempotencyOptional = Annotated[Idempotency, Depends(_dependency(required=False))]


def replay_response(exc: IdempotentReplay) -> JSONResponse:
    return JSONResponse(exc.body, status_code=exc.status_code, headers={REPLAY_HEADER: "true"})
