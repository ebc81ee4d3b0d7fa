"""Each service's own MetaData: its tables plus the infrastructure tables (outbox, inbox,
idempotency keys, webhook endpoints).

SQLModel keeps every table model in one global MetaData; a service's database (and its
Alembic migrations) must hold only its own tables, so each service builds its set here.
"""

from __future__ import annotations

from sqlalchemy import MetaData, Table

from shared.infra_models import INFRA_TABLES
from shared.webhook_endpoints.models import WEBHOOK_TABLES


def service_metadata(*tables: Table) -> MetaData:
    md = MetaData()
    for table in (*INFRA_TABLES, *WEBHOOK_TABLES, *tables):
        table.to_metadata(md)
    return md
