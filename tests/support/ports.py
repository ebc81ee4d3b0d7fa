"""Free loopback ports for servers a test or a bench starts later (no server code here, so a bench
that starts processes can use it without loading uvicorn)."""

from __future__ import annotations

import random
import socket


def _ephemeral_range_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


_handed_out: set[int] = set()  # this process's ports so far: each server of a run gets its own


def free_port() -> int:
    """A free loopback port for a server a test starts later. Chosen below the kernel's ephemeral
    range: a port the kernel hands out (bind to 0) can be taken by any outgoing connection
    (database, HTTP client) as its local port before the server binds it, and the test fails
    at random. Never the same port twice in one run: a platform picks all its ports before its
    first server binds one, so a port that is merely free now could be handed to two of them."""
    top = _ephemeral_range_start()
    for _ in range(500):
        port = random.randrange(max(1024, top - 12000), top)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port below the ephemeral range")
