import pytest
from channels.db import database_sync_to_async
from django.db import connections


@pytest.fixture(autouse=True)
async def close_thread_connections():
    """Async tests reach the database from asgiref's worker thread; close its connection afterwards."""
    yield
    await database_sync_to_async(connections.close_all)()
