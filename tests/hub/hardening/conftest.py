from tests.hub.referrals.conftest import (  # noqa: F401
    api_for,
    chest_pain_request,
    ecg_at_county_a,
    patient_at_county_a,
)
