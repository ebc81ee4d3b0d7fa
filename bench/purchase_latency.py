"""How long a paid card purchase takes to become an active contract, on the dev default (SQLite).

Starts the whole platform with `supportctl up` in a throw-away data folder on free ports (the
services, the payment sandbox), buys `--purchases` contracts one after another with the sandbox's
paying test card, and times each from the purchase's answer until `GET /v1/contracts/{id}` says
`active`. The path: entitlements' outbox → billing's inbox (invoice, charge scheduled) → the
charge runner → the sandbox (settles after its `processing_delay`, 0.2 s) → the signed webhook →
billing marks the invoice paid → outbox → entitlements activates. The figure printed without the
sandbox's delay is the platform's own share, from the webhook on (target: under 1 s).

    .venv/bin/python -m bench.purchase_latency [--purchases 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from services import registry

REPO_ROOT = Path(__file__).resolve().parents[1]
SUPPORTCTL = Path(sys.executable).with_name("supportctl")
PAYING_CARD = "4242424242424242"  # services/paysandbox/scenarios.py: paid
SANDBOX_DELAY = 0.2  # services/paysandbox/app.py: processing_delay, seconds from create to settlement
STARTUP_TIMEOUT = 180.0
ACTIVE_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(urls: list[str]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    for url in urls:
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the platform did not start within {STARTUP_TIMEOUT:.0f} s ({url})")
            time.sleep(0.1)


def _order(n: int, run: str) -> dict[str, object]:
    return {"customer_id": f"cust-bench-{run}-{n}", "plan_id": "o365-standard", "mode": "addon",
            "licence": {"product": "office365", "reference": f"bench-{run}-{n}.onmicrosoft.com"},
            "term_months": 12, "payment_method": "card",
            "billing": {"name": "Fabrikam sp. z o.o.", "nip": "7251801126", "address": "ul. Prosta 1, 00-001 Warszawa",
                        "email": "faktury@fabrikam.pl", "payment_instrument": PAYING_CARD},
            "order_ref": f"ORD-BENCH-{run}-{n}"}


def _purchase(client: httpx.Client, n: int, run: str) -> float:
    """Seconds from the purchase's answer to the contract being active."""
    response = client.post("/v1/purchases", json=_order(n, run), headers={"Idempotency-Key": str(uuid.uuid4())})
    response.raise_for_status()
    bought = time.perf_counter()
    contract_id = response.json()["id"]
    while time.perf_counter() - bought < ACTIVE_TIMEOUT:
        if client.get(f"/v1/contracts/{contract_id}").json()["status"] == "active":
            return time.perf_counter() - bought
        time.sleep(0.005)
    raise SystemExit(f"contract {contract_id} not active after {ACTIVE_TIMEOUT:.0f} s")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.purchase_latency", description=__doc__.split("\n\n")[0])
    p.add_argument("--purchases", type=int, default=20, help="card purchases, one after another (default 20)")
    args = p.parse_args(argv)
    ports = {spec.env_prefix + "PORT": str(_free_port()) for spec in registry.SERVICES.values()}
    ports |= {"PAYSANDBOX_PORT": str(_free_port()), "SUPPORT_MAILSINK_PORT": str(_free_port()),
              "TICKETS_SMTP_LISTEN_PORT": "0"}
    with tempfile.TemporaryDirectory(prefix="bench-purchase-") as data:
        env = {**os.environ, **ports, "SUPPORT_DATA_DIR": data}
        log = open(Path(data) / "up.log", "w")  # shown when the platform does not start
        up = subprocess.Popen([str(SUPPORTCTL), "up", "--data-dir", data], cwd=REPO_ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            urls = [f"http://127.0.0.1:{ports[spec.env_prefix + 'PORT']}" for spec in registry.SERVICES.values()]
            _wait_up(urls)
            token = subprocess.run([str(SUPPORTCTL), "token", "--role", "shop", "--data-dir", data], env=env,
                                   cwd=REPO_ROOT, check=True, capture_output=True, text=True).stdout.strip()
            entitlements = f"http://127.0.0.1:{ports[registry.get('entitlements').env_prefix + 'PORT']}"
            run = uuid.uuid4().hex[:6]
            with httpx.Client(base_url=entitlements, headers={"Authorization": f"Bearer {token}"},
                              timeout=10.0) as client:
                _purchase(client, 0, run)  # warm-up, not counted
                times = [_purchase(client, n, run) for n in range(1, args.purchases + 1)]
        finally:
            os.killpg(up.pid, signal.SIGINT)
            try:
                up.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, signal.SIGKILL)
                up.wait()
    median, p95 = statistics.median(times), _p95(times)
    print(f"card purchase -> contract active, {len(times)} purchases on SQLite (dev default):")
    print(f"  from the purchase:  median {median * 1000:.0f} ms   p95 {p95 * 1000:.0f} ms"
          f"   (includes the sandbox's {SANDBOX_DELAY * 1000:.0f} ms settlement delay)")
    print(f"  from the webhook:   median {(median - SANDBOX_DELAY) * 1000:.0f} ms"
          f"   p95 {(p95 - SANDBOX_DELAY) * 1000:.0f} ms   (target < 1000 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
