"""A reader's machine: a checkout of the repository with a fresh `var/`, the platform started in it as
`make run` starts it (`.venv/bin/supportctl up`, on the default ports), and a bash per document that
runs the document's blocks one after the other, as a reader pastes them into one terminal.

The checkout is a temporary folder of symbolic links to the repository's files (`.venv` to the
virtualenv running the tests), so `var/`, `var/mail/` and everything a command writes beside it are
the test's own. The shell gets the caller's environment without anything that would point the
platform or the examples elsewhere, and without any virtualenv on its PATH: the documents call
`.venv/bin/…` themselves and `python3` is the machine's own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import httpx

from shared.devkeys import DEV_KID, mint_token
from tests.docs.blocks import REPO, Block

# What `supportctl up` binds by default, and what the documents' own commands bind.
PLATFORM_PORTS = {8001: "entitlements", 8002: "tickets", 8003: "billing", 8090: "the payment sandbox",
                  2525: "the tickets service's SMTP listener", 1025: "the development mail sink"}
DOCUMENT_PORTS = {9000: "the receiver of examples/crm_sync.py's docstring"}
SERVICE_PORTS = {"entitlements": 8001, "tickets": 8002, "billing": 8003}
UP_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0
BLOCK_TIMEOUT = 60.0
_STEERING = ("ENTITLEMENTS_", "TICKETS_", "BILLING_", "PAYSANDBOX_", "SUPPORT_")
_DROPPED = {"SHOP_TOKEN", "CRM_TOKEN", "VIRTUAL_ENV", "PYTHONPATH", "PWD", "OLDPWD"}

# Runs one block in a fresh bash that first takes over the variables and the working directory the
# document's earlier blocks left (a state file per document), and leaves its own for the next one.
_WRAPPER = r"""
declare -A __before
for __name in $(compgen -v); do __before[$__name]=1; done
__state=$1
__block=$2
if [ -f "$__state" ]; then . "$__state"; fi
__save() {
  __rc=$?
  {
    for __name in $(compgen -v); do
      case "$__name" in __*) continue ;; esac
      [[ -n ${__before[$__name]:-} ]] || declare -p "$__name" 2>/dev/null || true
    done
    printf 'cd %q\n' "$PWD"
  } >"$__state.new"
  mv "$__state.new" "$__state"
  exit "$__rc"
}
trap __save EXIT
set -e
. "$__block"
"""


def taken_ports() -> list[str]:
    """The ports this test needs that something else holds, with what each is for."""
    taken = []
    for port, what in {**PLATFORM_PORTS, **DOCUMENT_PORTS}.items():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"{port} ({what})")
    return taken


def _venv() -> Path:
    """The virtualenv the tests run in: the documents' `.venv`."""
    for candidate in (Path(sys.prefix), REPO / ".venv"):
        if (candidate / "bin" / "supportctl").exists():
            return candidate
    raise FileNotFoundError("no virtualenv with supportctl: run the tests with .venv/bin/python (make test)")


def reader_environment() -> dict[str, str]:
    venv_bins = {str(Path(sys.prefix) / "bin"), str(REPO / ".venv" / "bin")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(_STEERING) and k not in _DROPPED}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and os.path.normpath(p) not in venv_bins)
    return env


def make_checkout(folder: Path) -> Path:
    """The repository's files, linked, without its `var/` (and with the test's virtualenv as `.venv`)."""
    folder.mkdir(parents=True)
    for entry in REPO.iterdir():
        if entry.name not in {"var", ".venv", ".git", "test-artifacts", ".pytest_cache"}:
            (folder / entry.name).symlink_to(entry)
    (folder / ".venv").symlink_to(_venv())
    return folder


@dataclass
class Ran:
    """One block's run: its exit status (None: it did not finish in time and was killed) and output
    (read afresh: background jobs may still write)."""
    block: Block
    returncode: int | None
    out: Path
    err: Path
    machine: "Machine"
    seconds: float

    @property
    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def eventually(self, probe: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            found = probe()
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.2)


class Machine:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.checkout = make_checkout(root / "checkout")
        self.data = self.checkout / "var"
        self.env = reader_environment()
        self.up_log = root / "supportctl-up.log"
        self.platform: subprocess.Popen[bytes] | None = None
        self.groups: dict[str, list[int]] = {}  # per document: the process groups of its blocks' shells
        self.wrapper = root / "run-block.sh"
        self.wrapper.write_text(_WRAPPER)
        self.runs = 0

    # ---- the platform, as `make run` starts it ------------------------------------------------------

    def start(self) -> float:
        started = time.monotonic()
        with self.up_log.open("wb") as log:
            self.platform = subprocess.Popen([str(self.checkout / ".venv" / "bin" / "supportctl"), "up"],
                                             cwd=self.checkout, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True)
        deadline = time.monotonic() + UP_TIMEOUT
        while "The platform is up." not in self.up_log.read_text(errors="replace"):
            if self.platform.poll() is not None:
                raise RuntimeError(f"supportctl up exited with {self.platform.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"supportctl up was not up within {UP_TIMEOUT:.0f} s:\n{self.log_tail()}")
            time.sleep(0.2)
        return time.monotonic() - started

    def log_tail(self, chars: int = 4000) -> str:
        return self.up_log.read_text(errors="replace")[-chars:] if self.up_log.exists() else ""

    def stop(self) -> None:
        """Every process this machine started: the documents' leftovers, then the platform (its
        services are in its process group)."""
        for source in list(self.groups):
            self._end_document(source)
        if self.platform is None or self.platform.poll() is not None:
            return
        os.killpg(self.platform.pid, signal.SIGTERM)
        try:
            self.platform.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        _kill_group(self.platform.pid)
        self.platform.wait()

    # ---- the documents' blocks ----------------------------------------------------------------------

    def run(self, block: Block) -> Ran:
        for source in [s for s in self.groups if s != block.source]:
            self._end_document(source)  # a new document: a new terminal
        self.runs += 1
        stem = self.root / f"block-{self.runs:02d}"
        script, out, err = stem.with_suffix(".sh"), stem.with_suffix(".out"), stem.with_suffix(".err")
        script.write_text(block.code)
        state = self.root / f"state-{block.source.replace('/', '_')}.sh"
        started = time.monotonic()
        with out.open("wb") as stdout, err.open("wb") as stderr:
            shell = subprocess.Popen(["bash", "--noprofile", "--norc", str(self.wrapper), str(state), str(script)],
                                     cwd=self.checkout, env=self.env, stdout=stdout, stderr=stderr,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.groups.setdefault(block.source, []).append(shell.pid)
        code: int | None
        try:
            code = shell.wait(timeout=BLOCK_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill_group(shell.pid)
            shell.wait()
            code = None
        return Ran(block, code, out, err, self, time.monotonic() - started)

    def _end_document(self, source: str) -> None:
        for pgid in self.groups.pop(source, []):
            _kill_group(pgid)

    # ---- looking at the platform directly, to check what a command claims ----------------------------

    def api(self, service: str, role: str = "admin") -> httpx.Client:
        pem = (self.data / "keys" / "private.pem").read_text()
        token = mint_token(pem, kid=DEV_KID, issuer="supportctl-dev", audience="support-platform",
                           subject=f"docs-check-{role}", role=role)
        return httpx.Client(base_url=f"http://127.0.0.1:{SERVICE_PORTS[service]}",
                            headers={"authorization": f"Bearer {token}"}, timeout=10)


def _kill_group(pgid: int) -> None:
    """A process group this machine started (a block's shell with its background jobs, or the
    platform): SIGTERM, then SIGKILL what is left."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
