"""The access tests use the referral story (``tests/hub/referrals``) and the simulated sites (``tests/federation``)."""

import pytest

from tests.federation.conftest import fast_retries, site_a_server, site_b_server, sync_a, sync_b, token_of  # noqa: F401
from tests.hub.referrals.conftest import (  # noqa: F401
    api_for,
    chest_pain_request,
    ecg_at_county_a,
    patient_at_county_a,
    patient_at_county_b,
)


@pytest.fixture(autouse=True)
def _own_channel_layer():
    """A channel layer of each test's own: after the in-process browser tests' server, the shared one belongs to
    another event loop, and a websocket test reading it hangs when its loop closes (the rooms' and the
    Subscriptions' tests do the same)."""
    from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers

    channel_layers.backends[DEFAULT_CHANNEL_LAYER] = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    yield
