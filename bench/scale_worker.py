"""One billing-run worker process for bench/scale.py: imports the billing service, says `ready`,
waits for `go` on stdin, drains every free chunk (`RunWorker.drain`, as a billing replica's loop
does), then prints `{"chunks": n, "peak_rss_mb": m, "drained_at": t}`. Settings come from BILLING_* variables."""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from datetime import date


DRAINED_AT = 0.0  # when this worker found no free chunk any more (wall clock, for the bench)


async def _work() -> int:
    """Warm like a running replica (connected, the holiday calendar loaded), then drain on `go`."""
    from sqlalchemy import text

    from services.billing.service.run_worker import RunWorker
    from services.billing.settings import BillingSettings
    from shared.public_holidays import is_business_day
    from shared.runtime import Runtime

    settings = BillingSettings()
    runtime = Runtime(settings)
    try:
        async with runtime.db.session() as session:
            await session.execute(text("SELECT 1"))
        is_business_day(date(2026, 12, 1))
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        chunks = await RunWorker(runtime, settings).drain()
        global DRAINED_AT
        DRAINED_AT = time.time()
        return chunks
    finally:
        await runtime.db.dispose()


def main() -> int:
    from services.billing.main import create_app  # noqa: F401 - what a replica has loaded

    chunks = asyncio.run(_work())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    print(json.dumps({"chunks": chunks, "peak_rss_mb": peak, "drained_at": DRAINED_AT}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
