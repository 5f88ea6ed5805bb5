"""Fault injection: a TCP proxy in front of a real server that a test can cut and restore.

The app under test connects through the proxy. `cut()` stops listening and closes every
open connection (the server "goes away"); `restore()` listens again on the same port.
`delay` holds every chunk from the server back for that long (a slow network or server).
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, delay_seconds: float = 0.0) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.delay_seconds = delay_seconds
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0

    async def _open_target(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.target_host.startswith("/"):  # a Unix socket directory, as libpq names it
            socket_path = Path(self.target_host) / f".s.PGSQL.{self.target_port}"
            return await asyncio.open_unix_connection(socket_path)
        return await asyncio.open_connection(self.target_host, self.target_port)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float
    ) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65_536):
                if delay:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        try:
            server_reader, server = await self._open_target()
        except OSError:
            client.close()
            return
        self._writers.update((client, server))
        upstream = asyncio.create_task(self._pipe(client_reader, server, 0.0))
        downstream = asyncio.create_task(self._pipe(server_reader, client, self.delay_seconds))
        self._tasks.update((upstream, downstream))
        try:
            await asyncio.gather(upstream, downstream)
        finally:
            self._tasks.difference_update((upstream, downstream))
            self._writers.difference_update((client, server))

    async def restore(self) -> None:
        """Listen (again): new connections reach the server."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and drop every open connection, as a crashed server would."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()


@contextlib.asynccontextmanager
async def tcp_proxy(host: str, port: int, *, delay_seconds: float = 0.0) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(host, port, delay_seconds=delay_seconds)
    await proxy.restore()
    try:
        yield proxy
    finally:
        await proxy.cut()
