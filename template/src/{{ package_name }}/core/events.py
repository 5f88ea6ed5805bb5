"""Live events over WebSockets: rooms of sockets in this process, fed by the event bus.

A worker process only knows its own sockets, so an event is never broadcast directly: it is
published on the event bus (core/event_bus.py: PostgreSQL LISTEN/NOTIFY, Redis pub/sub or a
polled MongoDB collection), which hands it to every process, and each process broadcasts it
to the sockets of the room it names in that process. That is what makes it work with any
number of worker processes.

Protocol, for clients:

- Connect, then send `{"token": "<access token>"}` as the first message, within
  WEBSOCKET_SIGN_IN_TIMEOUT_SECONDS. Not in the URL: access logs and proxies record URLs.
  Not in Authorization: browsers cannot set headers on a WebSocket. Not smuggled in
  Sec-WebSocket-Protocol: proxies log it, and the server would have to echo it back.
  A missing, malformed, expired or foreign token, or an inactive account, closes the
  socket with 1008 (policy violation); the database being down, with 1013 (try again later).
- The server answers `{"type": "subscribed"}` once the socket is in its room; events follow
  as JSON objects with a `type`. Messages the client sends after signing in are ignored.
- The socket is closed with 1008 when its token expires (reconnect with a fresh one), 1013
  when the client reads too slowly to keep up, and 1001 when the server shuts down.
  Reconnect then, and re-read what you show: events are notifications, not a log; one sent
  while a socket is not connected is not replayed.
- Keep-alive is the server's: uvicorn pings every 20 s (--ws-ping-interval) and drops peers
  that stop answering (--ws-ping-timeout), which also keeps proxies from timing out.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol
from uuid import UUID

from fastapi import Depends, FastAPI, WebSocket, WebSocketException, status
from starlette.websockets import WebSocketDisconnect

logger = logging.getLogger(__name__)

# What a JSON event is: an object whose values JSON can encode.
JSONObject = Mapping[str, Any]

SUBSCRIBED = json.dumps({"type": "subscribed"})
# Events waiting for one socket. A client that falls this far behind is closed (1013).
MAX_PENDING_EVENTS = 256
# The first message is a token, not a document.
MAX_SIGN_IN_MESSAGE_CHARS = 8192
# How long a signed-in socket waits for the event bus to be connected, else 1013.
BUS_WAIT_SECONDS = 5.0
# How long shutdown waits for the bus's receiver to stop.
BUS_STOP_SECONDS = 2.0


class EventPublisher(Protocol):
    """The one interface services use to publish live events, whatever carries them."""

    async def publish(self, *, room: str, event: JSONObject) -> None:
        """Send `event` to every socket in `room`, in every worker process."""


class EventBus(EventPublisher, Protocol):
    """Carries events between the app's processes (core/event_bus.py has the one in use)."""

    # Set while the bus receives: what is published from then on reaches this process.
    listening: asyncio.Event

    async def run(self) -> None:
        """Receive for the app's lifetime, handing each message to the connection manager's
        `deliver`; survive outages by reconnecting. Cancelled at shutdown."""

    async def close(self) -> None:
        """Let go of the bus's connections at shutdown, before `run` is cancelled."""


def user_room(user_id: UUID) -> str:
    """The room of one user's sockets: it receives the events of everything they own."""
    return f"user:{user_id}"


def encode_event(room: str, event: JSONObject) -> str:
    """The message on the bus: the room, a new line, the event's JSON (sent on as it is)."""
    if "\n" in room:
        raise ValueError("a room name cannot hold a new line")
    return f"{room}\n{json.dumps(event, separators=(',', ':'))}"


class _Connection:
    """One socket in a room, with the events not yet sent to it."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.pending: asyncio.Queue[str] = asyncio.Queue(MAX_PENDING_EVENTS)
        self.lagging = asyncio.Event()

    def offer(self, text: str) -> None:
        """Queue an event without waiting: one slow client never holds up the others."""
        try:
            self.pending.put_nowait(text)
        except asyncio.QueueFull:
            self.lagging.set()

    async def send_pending(self) -> None:
        while True:
            await self.websocket.send_text(await self.pending.get())

    async def receive_until_disconnect(self) -> None:
        while (await self.websocket.receive())["type"] != "websocket.disconnect":
            pass  # a signed-in client has nothing to say; pings are answered by the server


class ConnectionManager:
    """Which sockets of this process are in which room; one per app, in `app.state`."""

    def __init__(self) -> None:
        self._rooms: dict[str, set[_Connection]] = {}
        self._closing = asyncio.Event()
        # The bus's: set while events from every process reach this one.
        self.bus_listening = asyncio.Event()

    def count(self, room: str) -> int:
        """How many sockets of this process are in `room`."""
        return len(self._rooms.get(room, ()))

    def broadcast(self, room: str, text: str) -> int:
        """Queue a JSON event for every socket of this process in `room`; how many."""
        connections = self._rooms.get(room, ())
        for connection in connections:
            connection.offer(text)
        return len(connections)

    def deliver(self, message: str) -> None:
        """Broadcast a message from the bus (see `encode_event`) to its room here."""
        room, separator, text = message.partition("\n")
        if not separator:
            logger.warning("malformed event on the bus dropped")
            return
        self.broadcast(room, text)

    def close(self) -> None:
        """Close every socket with 1001 (going away): clients reconnect to another process."""
        self._closing.set()

    async def serve(self, websocket: WebSocket, *, room: str, until: datetime | None) -> None:
        """Keep a signed-in socket in `room` until it leaves, and always take it out again.

        `until` is when its credentials expire: the socket is closed with 1008 then.
        "subscribed" is sent once the bus is connected: every event from then on arrives.
        """
        connection = _Connection(websocket)
        self._rooms.setdefault(room, set()).add(connection)
        try:
            try:
                async with asyncio.timeout(BUS_WAIT_SECONDS):
                    await self.bus_listening.wait()
            except TimeoutError:
                await websocket.close(status.WS_1013_TRY_AGAIN_LATER, "try again later")
                return
            await websocket.send_text(SUBSCRIBED)
            await self._run(connection, until)
        except WebSocketDisconnect:
            pass
        finally:
            members = self._rooms.get(room)
            if members is not None:
                members.discard(connection)
                if not members:
                    del self._rooms[room]

    async def _run(self, connection: _Connection, until: datetime | None) -> None:
        receiving = asyncio.create_task(connection.receive_until_disconnect())
        tasks = {
            receiving,
            asyncio.create_task(connection.send_pending()),
            asyncio.create_task(connection.lagging.wait()),
            asyncio.create_task(self._closing.wait()),
        }
        timeout = None if until is None else max(0.0, (until - datetime.now(UTC)).total_seconds())
        try:
            done, _ = await asyncio.wait(
                tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        if receiving in done:
            return  # the client left
        if sent_error := next((r for r in results if isinstance(r, Exception)), None):
            logger.debug("socket dropped", extra={"error": type(sent_error).__name__})
            return  # the client is gone: nothing to close
        if not done:
            code, reason = status.WS_1008_POLICY_VIOLATION, "token expired"
        elif connection.lagging.is_set():
            code, reason = status.WS_1013_TRY_AGAIN_LATER, "too slow to keep up"
        else:
            code, reason = status.WS_1001_GOING_AWAY, "server shutting down"
        with contextlib.suppress(Exception):  # the client may have gone meanwhile
            await connection.websocket.close(code, reason)


@asynccontextmanager
async def serving_events(
    app: FastAPI, bus: EventBus, connections: ConnectionManager
) -> AsyncIterator[None]:
    """Run the bus's receiver for the app's lifetime; close every socket at shutdown.

    The start-up does not wait for the bus: a bus that cannot connect yet keeps trying in
    the background, and sockets wait for it before they are told "subscribed".
    """
    app.state.connections = connections
    app.state.event_bus = bus
    connections.bus_listening = bus.listening
    receiver = asyncio.create_task(bus.run(), name="event bus")
    try:
        yield
    finally:
        connections.close()
        try:
            # First: a client library may not give up a read in progress when cancelled
            # (redis-py, early in a subscription); closed, the bus stops by itself.
            await bus.close()
        finally:
            receiver.cancel()
            await asyncio.wait({receiver}, timeout=BUS_STOP_SECONDS)


async def get_connections(websocket: WebSocket) -> ConnectionManager:
    connections: ConnectionManager = websocket.app.state.connections
    return connections


ConnectionsDep = Annotated[ConnectionManager, Depends(get_connections)]


def _refused(reason: str) -> WebSocketException:
    return WebSocketException(status.WS_1008_POLICY_VIOLATION, reason)


async def receive_token(websocket: WebSocket, *, timeout_seconds: float) -> str:
    """Accept the socket and read its first message, `{"token": "<access token>"}`.

    Nothing within `timeout_seconds`, or anything else, closes the socket with 1008.
    """
    await websocket.accept()
    try:
        async with asyncio.timeout(timeout_seconds):
            message = await websocket.receive()
    except TimeoutError:
        raise _refused('sign in first: {"token": "<access token>"}') from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", status.WS_1000_NORMAL_CLOSURE))
    text = message.get("text")
    token: object = None
    if isinstance(text, str) and len(text) <= MAX_SIGN_IN_MESSAGE_CHARS:
        with contextlib.suppress(ValueError):
            body = json.loads(text)
            token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise _refused('the first message must be {"token": "<access token>"}')
    return token
