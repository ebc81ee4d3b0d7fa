"""A loopback TCP round-robin in front of a service's replicas (what a Kubernetes Service does):
each new connection goes to the next replica, and a replica that refuses the connection (killed)
is passed over. Runs on its own thread and event loop, so it serves whatever loop the tests use."""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Sequence


class RoundRobin:
    def __init__(self, port: int, upstreams: Sequence[int]) -> None:
        self.port, self.upstreams = port, list(upstreams)
        self._next = itertools.cycle(range(len(self.upstreams)))
        self.connections = [0] * len(self.upstreams)  # per replica: how the callers were spread
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"roundrobin-{port}", daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"the round-robin on port {self.port} did not start")

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in self.upstreams:
            n = next(self._next)
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstreams[n])
            except OSError:
                continue  # that replica is down: the next one
            self.connections[n] += 1
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            return
        writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError, RuntimeError):
            pass
