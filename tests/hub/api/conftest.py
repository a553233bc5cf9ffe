"""The REST API served for real (uvicorn in this process, as the browser tests serve it)."""

from tests.browser.conftest import hub_server  # noqa: F401  (the live hub, on a free port of 127.0.0.1)
