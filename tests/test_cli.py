"""`supportctl`: dev tokens, and one real end-to-end run of `supportctl up`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.entitlements.settings import EntitlementsSettings
from shared.auth import Authenticator
from shared.errors import Unauthorized
from shared.roles import ROLE_SCOPES
from tests.entitlements.helpers import purchase_body
from tests.support.receiver import free_port

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PORT = 8001  # entitlements' default port, where `supportctl up` serves it
UP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def _env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that would point the CLI elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ENTITLEMENTS_", "TICKETS_", "BILLING_")) and k != "SUPPORT_DATA_DIR"}
    return {**env, **extra}


def supportctl(*args: str, timeout: float = 60, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli.main", *args], cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=timeout)


def _prepared(folder: Path) -> Path:
    """A data folder as `supportctl up` leaves it, as far as tokens go: its dev key pair."""
    assert supportctl("keys", str(folder / "keys")).returncode == 0
    return folder


def _authenticator(data_dir: Path) -> Authenticator:
    return Authenticator.from_settings(EntitlementsSettings(jwks_file=data_dir / "keys" / "jwks.json"))


async def test_token_prints_one_jwt_the_service_accepts(tmp_path):
    _prepared(tmp_path)
    result = supportctl("token", "--role", "customer", "--customer-id", "c1", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and result.stdout == lines[0] + "\n"
    principal = await _authenticator(tmp_path).authenticate(lines[0])
    assert principal.customer_id == "c1"
    assert principal.scopes == ROLE_SCOPES["customer"]
    assert principal.roles == ("customer",)
    # a second token reuses the same key pair
    again = supportctl("token", "--role", "shop", "--data-dir", str(tmp_path))
    assert (await _authenticator(tmp_path).authenticate(again.stdout.strip())).scopes == ROLE_SCOPES["shop"]


# ---- token: only from the running platform's keys, never a new key pair ---------------------------

def _refused_for(stderr: str, folder: Path) -> None:
    """The refusal names the folder it looked in and both ways to point it elsewhere."""
    assert str(folder) in stderr, stderr
    assert "--data-dir" in stderr and "SUPPORT_DATA_DIR" in stderr, stderr


def test_token_outside_the_platform_folder_fails_and_creates_no_key_pair(tmp_path):
    elsewhere = tmp_path / "home" / "somewhere"
    elsewhere.mkdir(parents=True)
    result = supportctl("token", "--role", "shop", cwd=elsewhere)
    assert result.returncode == 1
    assert result.stdout == ""
    _refused_for(result.stderr, elsewhere)
    assert list(tmp_path.rglob("*")) == [tmp_path / "home", elsewhere], "nothing was created"


def test_token_for_a_data_folder_without_a_platform_fails_and_creates_nothing(tmp_path):
    empty = tmp_path / "not-a-platform"
    for args, env in ((["--data-dir", str(empty)], {}), ([], {"SUPPORT_DATA_DIR": str(empty)})):
        result = supportctl("token", "--role", "shop", *args, cwd=tmp_path, **env)
        assert result.returncode == 1 and result.stdout == ""
        _refused_for(result.stderr, empty)
        assert not empty.exists()


async def test_token_finds_the_platform_data_folder_from_a_subfolder_as_git_finds_its_folder(tmp_path):
    root = tmp_path / "checkout"
    data = _prepared(root / "var")
    deeper = root / "docs" / "guides"
    deeper.mkdir(parents=True)
    result = supportctl("token", "--role", "shop", cwd=deeper)
    assert result.returncode == 0, result.stderr
    assert (await _authenticator(data).authenticate(result.stdout.strip())).scopes == ROLE_SCOPES["shop"]
    assert not (deeper / "var").exists()


async def test_token_keeps_to_the_folder_it_is_told_over_the_nearest_one(tmp_path):
    nearest, told = _prepared(tmp_path / "var"), _prepared(tmp_path / "elsewhere")
    for args, env in ((["--data-dir", str(told)], {}), ([], {"SUPPORT_DATA_DIR": str(told)})):
        result = supportctl("token", "--role", "admin", *args, cwd=tmp_path, **env)
        assert result.returncode == 0, result.stderr
        assert (await _authenticator(told).authenticate(result.stdout.strip())).roles == ("admin",)
        with pytest.raises(Unauthorized, match="Signature verification failed"):
            await _authenticator(nearest).authenticate(result.stdout.strip())


def test_billing_run_outside_the_platform_folder_fails_and_creates_nothing(tmp_path):
    result = supportctl("billing", "run", "--period", "2026-12", "--as-of", "2026-11-30T12:00:00+01:00", cwd=tmp_path)
    assert result.returncode == 1
    _refused_for(result.stderr, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_customer_token_without_customer_id_fails(tmp_path):
    result = supportctl("token", "--role", "customer", "--data-dir", str(tmp_path))
    assert result.returncode != 0
    assert result.stdout == ""
    assert "customer-id" in result.stderr


def test_unknown_role_fails(tmp_path):
    result = supportctl("token", "--role", "superuser", "--data-dir", str(tmp_path))
    assert result.returncode != 0
    assert result.stdout == ""
    assert "superuser" in result.stderr


# ---- end to end: supportctl up --------------------------------------------------------------


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found |= {int(p) for p in (task / "children").read_text().split()}
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _wait_ready(process: subprocess.Popen[bytes], log: Path, port: int) -> None:
    deadline = time.monotonic() + UP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"supportctl up exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"entitlements was not ready within {UP_TIMEOUT}s:\n{log.read_text()[-3000:]}")


@pytest.mark.timeout(120)
def _ports() -> tuple[dict[str, int], dict[str, str]]:
    """Each service's default port when it is free; otherwise another one through its variable,
    which the supervisor serves on and polls for readiness."""
    defaults = {"ENTITLEMENTS_PORT": DEFAULT_PORT, "TICKETS_PORT": 8002, "TICKETS_SMTP_LISTEN_PORT": 2525,
                "SUPPORT_MAILSINK_PORT": 1025, "BILLING_PORT": 8003, "PAYSANDBOX_PORT": 8090}
    ports = {name: (free_port() if _port_in_use(default) else default) for name, default in defaults.items()}
    return ports, {name: str(port) for name, port in ports.items() if port != defaults[name]}


def _client(data_dir: Path, role: str, port: int) -> httpx.Client:
    token = supportctl("token", "--role", role, "--data-dir", str(data_dir)).stdout.strip()
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"authorization": f"Bearer {token}"},
                        timeout=15)


def _eventually(probe, what: str, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _billing_flow(data_dir: Path, ports: dict[str, int], contract_id: str) -> None:
    """Issue 4's flows against the real processes: the purchase is invoiced and charged through the
    payment sandbox, which makes the contract active (R-B1, R-B11); then a failed payment suspends it
    (R-B5, R-E4) and paying the arrears resumes it."""
    with _client(data_dir, "admin", ports["ENTITLEMENTS_PORT"]) as ent, \
            _client(data_dir, "admin", ports["BILLING_PORT"]) as billing:
        def status(wanted: str):  # type: ignore[no-untyped-def]
            return lambda: ent.get(f"/v1/contracts/{contract_id}").json()["status"] == wanted
        _eventually(status("active"), "the first invoice paid by direct debit to activate the contract")
        first = billing.get("/v1/invoices", params={"contract_id": contract_id}).json()["items"][0]
        assert (first["purpose"], first["status"]) == ("first", "paid")
        assert billing.get(f"/v1/invoices/{first['id']}/pdf").content.startswith(b"%PDF")
        # the card on file now declines; the upgrade supplement cannot be collected
        assert billing.put(f"/v1/accounts/{contract_id}/payment-instrument", json={
            "payment_method": "card", "payment_instrument": "4000000000009995"}).status_code == 200
        assert ent.post(f"/v1/contracts/{contract_id}/upgrade", json={"plan_id": "o365-advanced"}).status_code < 300

        def supplement():  # type: ignore[no-untyped-def]
            items = billing.get("/v1/invoices", params={"contract_id": contract_id}).json()["items"]
            found = [i for i in items if i["purpose"] == "upgrade"]
            charges_failed = found and billing.post("/v1/dunning-runs", json={
                "as_of": datetime.now(timezone.utc).isoformat()}).json()["overdue"] == [contract_id]
            return found[0] if charges_failed else None
        upgrade_invoice = _eventually(supplement, "the declined supplement to make the contract overdue")
        _eventually(status("suspended"), "entitlements to suspend the overdue contract")
        paid = billing.post(f"/v1/invoices/{upgrade_invoice['id']}/payments",
                            json={"amount": upgrade_invoice["gross_total"], "reference": "transfer"})
        assert paid.status_code == 201, paid.text
        _eventually(status("active"), "the settled contract to resume")
        _eventually(lambda: ent.get(f"/v1/contracts/{contract_id}").json()["plan_id"] == "o365-advanced",
                    "the paid supplement to switch the plan (R-B7)")


def _ticket_flow(data_dir: Path, ports: dict[str, int], contract_id: str) -> None:
    """The contract is paid; the CRM files a ticket over HTTP (tickets asks entitlements over HTTP);
    the customer's contact then mails the support address and gets an acknowledgement."""
    import smtplib
    from email.message import EmailMessage

    client = lambda role, port: _client(data_dir, role, port)  # noqa: E731
    with client("crm", ports["TICKETS_PORT"]) as crm:
        filed = crm.post("/v1/tickets", headers={"Idempotency-Key": str(uuid.uuid4())}, json={
            "customer_id": "cust-e2e", "product": "office365-support", "subject": "Teams calls drop",
            "description": "Every Teams call of the sales team drops after five minutes since Monday.",
            "category": "basic_config_help", "contact": {"name": "Anna", "email": "anna@contoso.pl"}})
        assert filed.status_code == 201, filed.text
        assert (filed.json()["plan"]["plan_id"], filed.json()["plan"]["contract_id"]) == ("o365-advanced", contract_id)
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "anna@contoso.pl", "support@example.com", "Outlook will not start"
        mail.set_content("Since this morning Outlook closes right after start on every laptop in sales.")
        with smtplib.SMTP("127.0.0.1", ports["TICKETS_SMTP_LISTEN_PORT"], timeout=15) as smtp:
            smtp.send_message(mail)
        subjects = [t["subject"] for t in crm.get("/v1/tickets", params={"customer_id": "cust-e2e"}).json()["items"]]
        assert sorted(subjects) == ["Outlook will not start", "Teams calls drop"]
    deadline = time.monotonic() + 20
    mailbox = data_dir / "mail"
    while time.monotonic() < deadline and len(list(mailbox.glob("*.eml"))) < 2:
        time.sleep(0.2)
    assert len(list(mailbox.glob("*.eml"))) >= 2, "both tickets are acknowledged by mail through the dev sink"


def test_supportctl_up_serves_a_purchase_and_stops_cleanly_on_sigterm(tmp_path):
    ports, extra = _ports()
    port = ports["ENTITLEMENTS_PORT"]
    data_dir, log = tmp_path / "data", tmp_path / "up.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "services.cli.main", "up", "--data-dir", str(data_dir)],
                                   cwd=REPO, env=_env(**extra), stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    children: set[int] = set()
    try:
        _wait_ready(process, log, port)
        children = _children(process.pid)
        # run from elsewhere than its data folder, it says how to get a token the services accept
        hint = _eventually(lambda: [line for line in log.read_text().splitlines() if "a token:" in line],
                           "the supervisor's ready message")
        assert hint == [f"  a token:  TOKEN=$(.venv/bin/supportctl token --role shop --data-dir {data_dir.resolve()})"]
        assert children, "the supervisor runs each service in a child process"

        token = supportctl("token", "--role", "shop", "--data-dir", str(data_dir)).stdout.strip()
        headers = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
            body = purchase_body(customer_id="cust-e2e", reference="e2e-tenant", payment_method="direct_debit")
            body["billing"]["payment_instrument"] = "PL61109010140000071219812874"  # the sandbox pays it
            bought = client.post("/v1/purchases", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
            assert bought.status_code == 201, bought.text
            contract = bought.json()
            read = client.get(f"/v1/contracts/{contract['id']}")
            assert read.status_code == 200, read.text
            assert (read.json()["id"], read.json()["status"]) == (contract["id"], "pending_payment")
            assert read.json()["licence"]["reference"] == "e2e-tenant"
            assert json.loads(client.get("/v1/products").text), "the demo catalogue is loaded"
        _billing_flow(data_dir, ports, contract["id"])
        _ticket_flow(data_dir, ports, contract["id"])

        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        try:
            code = process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the supervisor did not exit within {STOP_TIMEOUT}s of SIGTERM:\n{log.read_text()[-3000:]}")
        assert code == 0, log.read_text()[-3000:]
        while any(_alive(pid) for pid in children) and time.monotonic() - stopped_at < STOP_TIMEOUT:
            time.sleep(0.1)
        assert [pid for pid in children if _alive(pid)] == [], "a service outlived its supervisor"
        assert not _port_in_use(port), f"something still listens on {port}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the session this test started, only
            process.wait()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_billing_run_from_the_command_line_reports_and_refuses_a_far_period(tmp_path):
    assert supportctl("migrate", "billing", "--data-dir", str(tmp_path)).returncode == 0
    ran = supportctl("billing", "run", "--period", "2026-12", "--as-of", "2026-11-30T12:00:00+01:00",
                     "--data-dir", str(tmp_path))
    assert ran.returncode == 0, ran.stderr
    assert "0 invoiced" in ran.stderr
    far = supportctl("billing", "run", "--period", "2027-05", "--as-of", "2026-11-30T12:00:00+01:00",
                     "--data-dir", str(tmp_path))
    assert far.returncode == 2 and "invalid_period" in far.stderr


def test_the_scheduled_runs_need_no_dates_and_default_to_now(tmp_path):
    """What the CronJobs run (k8s/base/batch): the billing run of the current month (R-B11, inside
    R-B4's window on the 1st), the dunning run (R-B5) and the expiry run (R-E1), each as of now."""
    assert supportctl("migrate", "--data-dir", str(tmp_path)).returncode == 0
    month = datetime.now(ZoneInfo("Europe/Warsaw")).strftime("%Y-%m")
    ran = supportctl("billing", "run", "--data-dir", str(tmp_path))
    assert ran.returncode == 0, ran.stderr
    assert "0 invoiced" in ran.stderr and month in ran.stderr
    dunning = supportctl("billing", "dunning", "--data-dir", str(tmp_path))
    assert dunning.returncode == 0 and "0 overdue, 0 terminable, 0 settled" in dunning.stderr, dunning.stderr
    expiry = supportctl("contracts", "expire", "--data-dir", str(tmp_path))
    assert expiry.returncode == 0 and "0 expired, 0 terminated" in expiry.stderr, expiry.stderr
    bad = supportctl("contracts", "expire", "--as-of", "tomorrow", "--data-dir", str(tmp_path))
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


# ---- volume tickets: refused before anything is loaded ---------------------------------------------

def test_volume_tickets_needs_postgresql_and_no_more_awaiting_than_tickets(tmp_path):
    sqlite = supportctl("volume", "tickets", "--tickets", "10", "--database-url",
                        f"sqlite+aiosqlite:///{tmp_path / 'tickets.db'}")
    assert sqlite.returncode == 2 and "COPY needs PostgreSQL" in sqlite.stderr, sqlite.stderr
    too_many = supportctl("volume", "tickets", "--tickets", "10", "--awaiting", "11", "--database-url",
                          "postgresql+asyncpg://postgres@127.0.0.1:9/none")
    assert too_many.returncode == 2 and "--awaiting" in too_many.stderr, too_many.stderr
