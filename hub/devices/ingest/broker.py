"""The embedded MQTT broker (amqtt) that ``manage.py serve`` starts when no ``MQTT_URL`` is configured, so that
the very same MQTT path runs in the demo. It listens on 127.0.0.1 only; site gateways log in with their site's
MQTT credentials (``SiteMqttCredential``) and publish to their own site's topics; the hub's subscriber logs in
with a password made for this process."""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from dataclasses import dataclass

from asgiref.sync import sync_to_async

from hub.access.devices import mqtt_topic_allowed

logger = logging.getLogger(__name__)
HUB_USERNAME = "alliance-hub"
_hub_password = secrets.token_urlsafe(24)
_sessions: dict[str, str] = {}  # client id -> site code (for the topic check)


def hub_password() -> str:
    return _hub_password


def _site_of_login(username: str, password: str) -> str | None:
    from django.db import connection

    from hub.devices.services import mqtt_credential_check

    try:
        return mqtt_credential_check(username=username, password=password)
    finally:
        connection.close()


try:
    from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin

    class SiteAuthPlugin(BaseAuthPlugin):
        """The hub's own login, or a site's MQTT credentials from the registry; no anonymous clients."""

        @dataclass
        class Config:
            pass

        async def authenticate(self, *, session) -> bool:
            username, password = session.username or "", session.password or ""
            if isinstance(password, bytes):
                password = password.decode(errors="replace")
            if username == HUB_USERNAME:
                ok = secrets.compare_digest(password, _hub_password)
                if ok:
                    _sessions[session.client_id] = ""
                return ok
            site = await sync_to_async(_site_of_login, thread_sensitive=False)(username, password)
            if site is None:
                return False
            _sessions[session.client_id] = site
            return True

    class SiteTopicPlugin(BaseTopicPlugin):
        """A site's gateway publishes only to ``alliance/<its site>/devices/<device>/vitals``."""

        @dataclass
        class Config:
            pass

        async def topic_filtering(self, *, session=None, topic=None, action=None) -> bool:
            site = _sessions.get(getattr(session, "client_id", None), None)
            if site is None:
                return False
            if site == "":  # the hub itself
                return True
            return mqtt_topic_allowed(username_site=site, topic=topic or "", publish=str(action) == "publish")

except ImportError:  # amqtt not installed: no embedded broker
    SiteAuthPlugin = SiteTopicPlugin = None  # type: ignore[assignment,misc]


class EmbeddedBroker:
    """amqtt in a thread of its own, with its own event loop; ``stop()`` shuts it down."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 1883):
        self.host, self.port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{HUB_USERNAME}:{_hub_password}@{self.host}:{self.port}"

    def start(self, timeout: float = 10) -> EmbeddedBroker:
        threading.Thread(target=self._run, name="embedded-mqtt", daemon=True).start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the embedded MQTT broker did not start")
        if self._error is not None:
            raise RuntimeError(f"the embedded MQTT broker did not start: {self._error}")
        return self

    def _run(self) -> None:
        from amqtt.broker import Broker

        for name in ("amqtt", "transitions"):  # their INFO is a line per state change of every session
            logging.getLogger(name).setLevel(logging.WARNING)

        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "hub.devices.ingest.broker.SiteAuthPlugin": {},
                "hub.devices.ingest.broker.SiteTopicPlugin": {},
            },
        }
        try:
            self._broker = Broker(config, loop=loop)
            loop.run_until_complete(self._broker.start())
        except BaseException as error:  # reported by start()
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()

    def stop(self) -> None:
        if self._loop is None or self._broker is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        try:
            future.result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
