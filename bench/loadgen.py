"""A small closed-loop HTTP/1.1 load generator: N keep-alive connections (asyncio streams), each
sending requests one after another and reading each response by its Content-Length. The requests
are a fixed list of prepared bytes (taken round-robin) or a factory: a callable that returns the
bytes of request number i (e.g. a POST with its own Idempotency-Key), called once per request.

Cheap on purpose (the bench machine has 2 cores, one is the server's): no HTTP client library,
no per-request allocation beyond the request bytes and one latency float. Every loop is bounded
by the run's deadline and every read by a timeout. Only 127.0.0.1 is targeted.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

READ_TIMEOUT = 10.0  # one response; a slower one counts as an error and the connection is reopened
CONNECT_TIMEOUT = 5.0
MAX_HEADER_BYTES = 64 * 1024

# The requests of a run: prepared bytes, sent round-robin, or a factory of the bytes of request i
# (i is unique within a run: connection k sends k, k + connections, k + 2·connections, ...).
Requests = Sequence[bytes] | Callable[[int], bytes]


@dataclass
class RunResult:
    duration: float  # seconds actually measured
    latencies: list[float] = field(default_factory=list)  # seconds, successful (expected status + body) only
    errors: Counter = field(default_factory=Counter)  # "status 401", "timeout", "body", ...
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per probed process group, measured window

    def cpu_percent(self, name: str) -> float | None:
        return 100 * self.cpu[name] / self.duration if name in self.cpu else None

    def cpu_ms_per_request(self, name: str) -> float | None:
        return 1000 * self.cpu[name] / self.ok if name in self.cpu and self.ok else None

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rps(self) -> float:
        return self.ok / self.duration if self.duration > 0 else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
        return ordered[k] * 1000

    def summary(self) -> dict:
        return {"requests_ok": self.ok, "errors": self.error_count, "error_kinds": dict(self.errors),
                "duration_s": round(self.duration, 3), "rps": round(self.rps, 1),
                "p50_ms": round(self.percentile(50), 3), "p99_ms": round(self.percentile(99), 3),
                "mean_ms": round(statistics.fmean(self.latencies) * 1000, 3) if self.latencies else None,
                "cpu_percent": {k: round(self.cpu_percent(k), 1) for k in self.cpu},
                "cpu_ms_per_request": {k: round(self.cpu_ms_per_request(k) or 0, 4) for k in self.cpu}}


def build_requests(host: str, port: int, paths: list[str], headers: dict[str, str]) -> list[bytes]:
    """The raw bytes of one GET per path (prepared once; the run only writes them)."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return [(f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}Connection: keep-alive\r\n\r\n").encode("latin-1")
            for p in paths]


class _BadResponse(Exception):
    pass


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep_alive). Content-Length framing only (what uvicorn sends for JSON)."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEADER_BYTES:
        raise _BadResponse("header too large")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise _BadResponse("bad status line")
    status = int(parts[1])
    length, keep_alive = None, True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"connection" and value.strip().lower() == b"close":
            keep_alive = False
        elif name == b"transfer-encoding":
            raise _BadResponse("chunked response not supported")
    if length is None:
        raise _BadResponse("no content-length")
    body = await reader.readexactly(length) if length else b""
    return status, body, keep_alive


def _request_of(requests: Requests) -> Callable[[int], bytes]:
    if callable(requests):
        return requests
    if not requests:
        raise ValueError("no requests to send")
    n = len(requests)
    return lambda i: requests[i % n]


async def _connection(host: str, port: int, request_of: Callable[[int], bytes], offset: int, step: int,
                      expect: bytes | None, expect_status: int, start_at: float, stop_at: float,
                      result: RunResult) -> None:
    """One keep-alive connection: request offset, offset+step, ... until stop_at.
    Latencies are recorded only for requests sent at or after start_at (warm-up before)."""
    i = offset
    latencies, errors = result.latencies, result.errors
    loop = asyncio.get_running_loop()
    while loop.time() < stop_at:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as exc:
            errors[f"connect: {type(exc).__name__}"] += 1
            await asyncio.sleep(0.05)
            continue
        try:
            while True:
                now = loop.time()
                if now >= stop_at:
                    return
                request = request_of(i)
                i += step
                sent = time.perf_counter()
                writer.write(request)
                status, body, keep_alive = await asyncio.wait_for(_read_response(reader), READ_TIMEOUT)
                elapsed = time.perf_counter() - sent
                if now >= start_at:
                    if status != expect_status:
                        errors[f"status {status}"] += 1
                    elif expect is not None and expect not in body:
                        errors["unexpected body"] += 1
                    else:
                        latencies.append(elapsed)
                if not keep_alive:
                    break
        except asyncio.TimeoutError:
            if loop.time() < stop_at:
                errors["timeout"] += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, _BadResponse, ValueError) as exc:
            if loop.time() < stop_at:
                errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
        finally:
            writer.close()


async def run(host: str, port: int, requests: Requests, *, connections: int, warmup: float, duration: float,
              expect: bytes | None = None, expect_status: int = 200,
              cpu_probe: Callable[[], dict[str, float]] | None = None) -> RunResult:
    """Warm up for `warmup` seconds, then measure for `duration` seconds with `connections`
    concurrent keep-alive connections (same connections throughout). A response counts when its
    status is `expect_status` and its body contains `expect`; anything else is an error by kind.
    `cpu_probe` (CPU seconds by name) is read when the measurement starts and ends; the
    differences go to `result.cpu`."""
    request_of = _request_of(requests)
    loop = asyncio.get_running_loop()
    start_at = loop.time() + warmup
    stop_at = start_at + duration
    result = RunResult(duration=duration)
    marks: list[dict[str, float]] = []
    if cpu_probe is not None:
        loop.call_at(start_at, lambda: marks.append(cpu_probe()))
        loop.call_at(stop_at, lambda: marks.append(cpu_probe()))
    tasks = [asyncio.create_task(_connection(host, port, request_of, k, connections, expect, expect_status,
                                             start_at, stop_at, result))
             for k in range(connections)]
    try:
        # Every connection stops by stop_at + READ_TIMEOUT at the latest; the margin bounds the wait.
        done, pending = await asyncio.wait(tasks, timeout=warmup + duration + READ_TIMEOUT + 5)
    finally:
        for task in tasks:
            task.cancel()
    if pending:
        result.errors["connection task did not stop"] += len(pending)
        await asyncio.wait(pending, timeout=2)
    if len(marks) == 2:
        result.cpu = {k: marks[1][k] - marks[0].get(k, 0.0) for k in marks[1]}
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            result.errors[f"crash: {task.exception()!r}"[:120]] += 1
    return result


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (cheaper per request), else the standard loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
