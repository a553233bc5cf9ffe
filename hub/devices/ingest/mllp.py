"""HL7 v2 over MLLP (``<VT> message <FS><CR>``): an asyncio server answering each message with its ACK
(``AA`` recorded; ``AE`` refused: unknown device, unbound, unknown code, impossible value, clock; ``AR``
malformed). Messages of one connection are handled in order."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger(__name__)
START, END = b"\x0b", b"\x1c\x0d"
MAX_MESSAGE = 1_000_000


def frame(text: str) -> bytes:
    return START + text.encode() + END


def handle(raw: str) -> str:
    """One HL7 message in, its ACK out (synchronous: the database)."""
    from hub.devices.ingest import hl7v2
    from hub.devices.ingest.pipeline import Message, Refusal, connection_ready, message_ingest, rejection_record

    connection_ready()
    control_id, app, facility = "", "", ""
    try:
        try:
            message, control_id, _parsed = hl7v2.parse_oru(raw)
        except Refusal as refusal:  # not yet recorded: the dead letter names what is known of the sender
            known = getattr(refusal, "message", None) or Message(site_code="", device_key="", path="mllp")
            known.excerpt, control_id = raw[:2000], getattr(refusal, "control_id", "")
            rejection_record(known, refusal)
            raise
        app, facility = message.device_key, message.site_code
        message_ingest(message)  # records its own refusals
    except Refusal as refusal:
        code = "AR" if refusal.reason == "malformed" else "AE"
        return hl7v2.ack(
            control_id=control_id,
            code=code,
            text=f"{refusal.reason}: {refusal.detail}",
            receiving_app=app,
            receiving_facility=facility,
        )
    except Exception:
        logger.exception("MLLP: message not recorded")
        return hl7v2.ack(control_id=control_id, code="AE", text="internal error: send again")
    return hl7v2.ack(control_id=control_id, code="AA", receiving_app=app, receiving_facility=facility)


_workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mllp")
_worker_connections: list = []


def _handle_in_worker(raw: str) -> str:
    from django.db import DEFAULT_DB_ALIAS, connections

    answer = handle(raw)
    wrapper = connections[DEFAULT_DB_ALIAS]  # this worker thread's own
    if wrapper not in _worker_connections:
        _worker_connections.append(wrapper)
    return answer


def workers_close() -> None:
    """Close the workers' database connections (when the listener stops)."""
    for wrapper in list(_worker_connections):
        if wrapper.connection is not None:
            try:
                wrapper.connection.close()
            except Exception:
                logger.warning("MLLP: a worker's database connection did not close", exc_info=True)
            wrapper.connection = None
    _worker_connections.clear()


async def _connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    loop = asyncio.get_running_loop()

    async def handle_async(raw: str) -> str:
        return await loop.run_in_executor(_workers, _handle_in_worker, raw)

    try:
        while True:
            try:
                await reader.readuntil(START)
                data = await reader.readuntil(END)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                break
            answer = await handle_async(data[: -len(END)].decode("utf-8", errors="replace"))
            writer.write(frame(answer))
            await writer.drain()
    finally:
        writer.close()


async def serve(host: str, port: int) -> asyncio.Server:
    return await asyncio.start_server(_connection, host, port, limit=MAX_MESSAGE)


class MllpServer:
    """The MLLP listener in a thread of its own (``port`` 0: any free port, see ``.port``)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 2575):
        self.host, self.port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()

    def start(self) -> MllpServer:
        threading.Thread(target=self._run, name="mllp", daemon=True).start()
        if not self._ready.wait(10) or self._server is None:
            raise RuntimeError(f"MLLP: could not listen on {self.host}:{self.port}")
        return self

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            self._server = loop.run_until_complete(serve(self.host, self.port))
            self.port = self._server.sockets[0].getsockname()[1]
        except OSError:
            logger.exception("MLLP: could not listen")
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()

    def stop(self) -> None:
        if self._loop is None or self._server is None:
            return

        async def close():
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        workers_close()
