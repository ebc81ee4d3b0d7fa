"""`supportctl up`: one supervisor for every service (and the development mail sink), each in its
own process.

Children are restarted with backoff if they die; Ctrl-C or SIGTERM stops them all cleanly
(SIGTERM, then SIGKILL after a grace period)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx
from rich.console import Console

GRACE_SECONDS = 10.0


@dataclass
class Child:
    name: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default=0.0)
    args: list[str] | None = None  # supportctl arguments; default `serve <name>`
    probe: str = "http"  # ready when: "http" GET /readyz answers 200; "tcp" the port accepts connections

    def start(self) -> None:
        args = self.args or ["serve", self.name]
        self.process = subprocess.Popen([sys.executable, "-m", "services.cli.main", *args], env=os.environ.copy())
        self.started_at = time.monotonic()

    def ready(self) -> bool:
        if self.probe == "tcp":
            with socket.socket() as s:
                s.settimeout(1.0)
                return s.connect_ex(("127.0.0.1", self.port)) == 0
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False


class Supervisor:
    def __init__(self, children: list[Child], console: Console) -> None:
        self.children, self.console = children, console
        self.stopping = False

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.stopping = True

    def wait_ready(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        pending = {c.name: c for c in self.children}
        while pending and time.monotonic() < deadline and not self.stopping:
            for name, child in list(pending.items()):
                if child.ready():
                    pending.pop(name)
                if child.process and child.process.poll() is not None:
                    self.console.print(f"[red]{name} exited with {child.process.returncode} while starting[/red]")
                    return False
            time.sleep(0.2)
        return not pending

    def run(self, on_ready: "callable[[], None]") -> int:  # type: ignore[valid-type]
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        for child in self.children:
            child.start()
        if not self.wait_ready():
            if not self.stopping:
                self.console.print("[red]services did not become ready; stopping[/red]")
            self.stop()
            return 1
        on_ready()
        while not self.stopping:
            for child in self.children:
                self._watch(child)
            time.sleep(0.3)
        self.stop()
        return 0

    def _watch(self, child: Child) -> None:
        if child.process is None or child.process.poll() is None:
            return
        now = time.monotonic()
        if child.next_start == 0.0:
            if now - child.started_at > 30:
                child.restarts = 0  # it had been up for a while: start over with a short backoff
            delay = min(30.0, 0.5 * 2 ** child.restarts)
            child.next_start = now + delay
            self.console.print(f"[yellow]{child.name} exited ({child.process.returncode}); "
                               f"restarting in {delay:.1f}s[/yellow]")
        elif now >= child.next_start:
            child.restarts += 1
            child.next_start = 0.0
            child.start()

    def stop(self) -> None:
        self.console.print("stopping services…")
        for child in self.children:
            if child.process and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        self.console.print("stopped.")
