"""Idle memory of each service: its resident set right after start-up, against the 120 MB target.

    python -m bench.idle_rss [--settle 3] [--services entitlements,tickets,billing]

Each service is started the way `supportctl up` starts it (`python -m services.cli.main serve
NAME`, the embedded default: SQLite, dev keys, migrated first with `supportctl migrate NAME`) in a
throw-away data folder, on free ports below the ephemeral range (its own, the tickets SMTP listener's, the
mail sink's and the payment sandbox's, none of which run here), so nothing collides with a
platform on the default ports. Once `GET /healthz` answers and `--settle` seconds have passed, the
process's VmRSS is read from /proc/PID/status; then it is stopped. A measurement, not a test: the
exit status does not depend on the figures. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from services.registry import SERVICES
from tests.support.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_MB = 120.0
STARTUP_TIMEOUT = 60.0


def status_mb(pid: int, field: str) -> float:
    """A `kB` line of /proc/PID/status (VmRSS, VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def environment(data: Path, ports: dict[str, int]) -> dict[str, str]:
    """This process's environment without any service setting, plus the data folder and ports."""
    prefixes = tuple(spec.env_prefix for spec in SERVICES.values()) + ("SUPPORT_", "PAYSANDBOX_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update({
        "SUPPORT_DATA_DIR": str(data),
        "SUPPORT_MAILSINK_PORT": str(ports["mailsink"]),
        "PAYSANDBOX_PORT": str(ports["paysandbox"]),
        "TICKETS_SMTP_LISTEN_PORT": str(ports["smtp"]),
        **{f"{spec.env_prefix}PORT": str(ports[name]) for name, spec in SERVICES.items()},
        **{f"{spec.env_prefix}LOG_LEVEL": "WARNING" for spec in SERVICES.values()},
    })
    return env


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def measure(service: str, settle: float) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB of `service` started idle."""
    ports = {name: free_port() for name in [*SERVICES, "mailsink", "paysandbox", "smtp"]}
    cli = [sys.executable, "-m", "services.cli.main"]
    with tempfile.TemporaryDirectory(prefix=f"idle-rss-{service}-") as folder:
        env = environment(Path(folder), ports)
        subprocess.run([*cli, "migrate", service], env=env, cwd=REPO_ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        process = subprocess.Popen([*cli, "serve", service], env=env, cwd=REPO_ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            url = f"http://127.0.0.1:{ports[service]}/healthz"
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while not _healthy(url):
                if process.poll() is not None:
                    raise RuntimeError(f"{service} exited with {process.returncode}:\n"
                                       f"{process.stderr.read().decode() if process.stderr else ''}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{service} did not answer {url} within {STARTUP_TIMEOUT:.0f} s")
                time.sleep(0.2)
            time.sleep(settle)
            return status_mb(process.pid, "VmRSS"), status_mb(process.pid, "VmHWM")
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--settle", type=float, default=3.0, help="seconds after /healthz answers (default 3)")
    p.add_argument("--services", default=",".join(SERVICES), help="comma-separated (default: all)")
    args = p.parse_args(argv)
    rows = []
    for service in [s.strip() for s in args.services.split(",") if s.strip()]:
        if service not in SERVICES:
            p.error(f"unknown service {service!r}; one of: {', '.join(SERVICES)}")
        print(f"[idle_rss] starting {service} ...", file=sys.stderr, flush=True)
        rss, peak = measure(service, args.settle)
        rows.append((service, rss, peak))
    print(f"{'service':<14}{'RSS MB':>9}{'peak MB':>9}{'target MB':>11}  verdict")
    for service, rss, peak in rows:
        verdict = "MET" if rss <= TARGET_MB else "NOT MET"
        print(f"{service:<14}{rss:>9.1f}{peak:>9.1f}{TARGET_MB:>11.0f}  {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
