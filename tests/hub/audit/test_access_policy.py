"""The hub's access rules for its users, applied by the gateway's hooks (HTTP tests live beside the FHIR API)."""

import pytest

from fhir_gateway.context import Actor, Interaction
from fhir_gateway.errors import Forbidden
from hub.accounts.fhir import actor_from_request
from hub.audit.access import user_access_policy, user_search_scope


class _Request:
    def __init__(self, user):
        self.user = user


def _actor(user) -> Actor:
    return actor_from_request(_Request(user))


def _read(actor, resource_type, owner, resource=None):
    interaction = Interaction(
        actor=actor, action="read", resource_type=resource_type, fhir_id="1", detail={"owner": owner}
    )
    user_access_policy(interaction, resource)


def test_a_county_doctor_reads_their_own_sites_records(dr_li_at_county_a):
    _read(_actor(dr_li_at_county_a), "Observation", "county-a")


def test_a_county_doctor_cannot_read_another_sites_records(dr_li_at_county_a):
    with pytest.raises(Forbidden, match="another site"):
        _read(_actor(dr_li_at_county_a), "Patient", "county-b")


def test_an_official_sees_no_patient_records_but_the_directory(official_wang):
    actor = _actor(official_wang)
    with pytest.raises(Forbidden, match="aggregates"):
        _read(actor, "Patient", "county-a")
    _read(actor, "Organization", "county-a")
    assert user_search_scope(actor, "Observation") == set()
    assert user_search_scope(actor, "Organization") is None


def test_search_is_scoped_to_the_users_own_site(dr_zhao_at_county_b, cardiologist_zhang):
    assert user_search_scope(_actor(dr_zhao_at_county_b), "Patient") == {"county-b"}
    assert user_search_scope(_actor(cardiologist_zhang), "Patient") == {"general"}


def test_a_site_admin_reads_but_does_not_write_clinical_records(admin_of_county_a):
    actor = _actor(admin_of_county_a)
    _read(actor, "Patient", "county-a")
    with pytest.raises(Forbidden, match="do not change"):
        user_access_policy(
            Interaction(
                actor=actor, action="update", resource_type="Patient", fhir_id="1", detail={"owner": "county-a"}
            ),
            {"resourceType": "Patient"},
        )


def test_other_actors_are_left_to_their_own_policies(db):
    _read(Actor(kind="internal", id="hub"), "Patient", "county-a")


def test_an_overlong_id_from_the_python_api_still_fits_the_audit_trail(db, django_capture_on_commit_callbacks):
    from hub.audit.models import AuditEvent
    from hub.audit.recorder import record_interaction

    interaction = Interaction(
        actor=Actor(kind="internal", id="hub"), action="read", resource_type="Patient", fhir_id="x" * 300
    )
    with django_capture_on_commit_callbacks(execute=True):  # outside a request it is written on commit
        record_interaction(interaction, 404, None)
    event = AuditEvent.objects.get(fhir_id="x" * 64)
    assert event.patient.startswith("Patient/xxx") and len(event.patient) == 100
