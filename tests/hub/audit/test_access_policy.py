"""The audit trail's rows fit whatever the Python API is given (the access rules' own tests: tests/hub/access)."""

from fhir_gateway.context import Actor, Interaction


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
