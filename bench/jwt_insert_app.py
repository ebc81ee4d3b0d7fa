"""The baseline of the ticket-creation bench: a minimal FastAPI app that verifies the bearer JWT
exactly as the tickets service does (`shared.auth.Authenticator` behind the same
`require(TICKETS_WRITE)` dependency, same JWKS, issuer and audience from the same `TICKETS_*`
variables), validates a small JSON body, and inserts ONE row into `bench_ticket` in the tickets
database (`TICKETS_DATABASE_URL`, PostgreSQL) with plain asyncpg: one prepared INSERT on a pooled
connection, in autocommit, so it is committed before the 201 is sent. No ORM, no middleware, no
call to entitlements, no idempotency record, no outbox: what any FastAPI endpoint that creates a
row has to pay.

    TICKETS_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1/db TICKETS_JWKS_FILE=… \\
        python -m uvicorn --factory bench.jwt_insert_app:create_app --port 8102
"""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Annotated, AsyncIterator

import asyncpg
from fastapi import Depends, FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.engine import make_url

from services.tickets.settings import TicketsSettings
from shared.auth import Authenticator, Principal
from shared.web.auth import require
from shared.web.errors import install_error_handlers
from shared.roles import TICKETS_WRITE

Writer = Annotated[Principal, Depends(require(TICKETS_WRITE))]

CREATE_TABLE = """CREATE TABLE IF NOT EXISTS bench_ticket (
    id text PRIMARY KEY,
    customer_id text NOT NULL,
    product text NOT NULL,
    subject text NOT NULL,
    description text NOT NULL,
    idempotency_key text,
    created_at timestamptz NOT NULL
)"""
INSERT = ("INSERT INTO bench_ticket (id, customer_id, product, subject, description, idempotency_key, created_at) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7)")


class Contact(BaseModel):
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)


class TicketIn(BaseModel):
    customer_id: str = Field(min_length=1, max_length=100)
    product: str = Field(min_length=1, max_length=64)
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=20_000)
    category: str = Field(min_length=1, max_length=64)
    channel: str = "api"
    contact: Contact


def create_app(settings: TicketsSettings | None = None) -> FastAPI:
    settings = settings or TicketsSettings()
    url = make_url(settings.database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the insert baseline needs PostgreSQL (TICKETS_DATABASE_URL)")
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    pool_size = settings.db_pool_size  # the service's pool: db_pool_size, plus as many again in overflow

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=2 * pool_size)
        try:
            await pool.execute(CREATE_TABLE)
            app.state.pool = pool
            yield
        finally:
            await pool.close()

    app = FastAPI(title="JWT + one INSERT baseline", openapi_url=None, docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.state.authenticator = Authenticator.from_settings(settings)
    install_error_handlers(app)  # a bad token is a 401 here too, not a 500

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/tickets", status_code=201)
    async def file_ticket(body: TicketIn, principal: Writer,
                          idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
        ticket_id = f"tkt_{uuid.uuid4().hex}"
        await app.state.pool.execute(INSERT, ticket_id, body.customer_id, body.product, body.subject,
                                     body.description, idempotency_key, datetime.now(timezone.utc))
        return JSONResponse({"id": ticket_id, "customer_id": body.customer_id, "status": "new"}, status_code=201)

    return app
