"""The access tests use the referral story (``tests/hub/referrals``) and the simulated sites (``tests/federation``)."""

from tests.federation.conftest import fast_retries, site_a_server, site_b_server, sync_a, sync_b, token_of  # noqa: F401
from tests.hub.referrals.conftest import (  # noqa: F401
    api_for,
    chest_pain_request,
    ecg_at_county_a,
    patient_at_county_a,
    patient_at_county_b,
)
