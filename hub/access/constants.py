"""The names the access rules speak in, defined once: actor kinds, record categories, grant reasons, actions."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class GrantReason(models.TextChoices):
    """Why one user may read one patient's records outside their site's own."""

    REFERRAL = "referral", _("Referral or consultation request")
    ROOM = "room", _("Consultation room participant")
    BREAK_GLASS = "break_glass", _("Emergency access (break the glass)")


class ReviewStatus(models.TextChoices):
    """A site administrator's verdict on one emergency access to their site's patient."""

    PENDING = "pending", _("Waiting for review")
    CONFIRMED = "confirmed", _("Confirmed as justified")
    REPORTED = "reported", _("Reported as a possible misuse")


class ActorKind(models.TextChoices):
    """One rule set each (``hub.access.rules``)."""

    COUNTY_DOCTOR = "county_doctor", _("County doctor")
    SPECIALIST = "specialist", _("Specialist")
    SITE_ADMIN = "site_admin", _("Site administrator")
    OFFICIAL = "official", _("Health official")
    AUDITOR = "auditor", _("Hub auditor")
    SUPERUSER = "superuser", _("Platform operator")
    SITE_SYSTEM = "site_system", _("Site system (SMART scopes)")
    SYNC = "sync", _("Sync engine")
    WORKFLOW = "workflow", _("The hub's own workflow")
    NOBODY = "nobody", _("Anyone else")


# Records that say who and where, not anything about a patient: everyone signed in reads them all.
DIRECTORY_TYPES = frozenset(
    {"Organization", "Location", "Practitioner", "PractitionerRole", "HealthcareService", "Endpoint"}
)
# Published definitions a site may own under canonical URLs no other publisher uses (``:in`` reads ValueSets).
KNOWLEDGE_TYPES = frozenset(
    {"ValueSet", "CodeSystem", "ConceptMap", "Questionnaire", "PlanDefinition", "ActivityDefinition"}
)
# How the hub itself works: published by the platform operator only.
CONFORMANCE_TYPES = frozenset(
    {
        "CapabilityStatement",
        "StructureDefinition",
        "SearchParameter",
        "OperationDefinition",
        "NamingSystem",
        "CompartmentDefinition",
        "ImplementationGuide",
    }
)
OPEN_TYPES = DIRECTORY_TYPES | KNOWLEDGE_TYPES | CONFORMANCE_TYPES
CANONICAL_TYPES = KNOWLEDGE_TYPES | CONFORMANCE_TYPES
# The audit trail as FHIR: hub auditors read all of it, a site administrator their own site's.
AUDIT_TYPES = frozenset({"AuditEvent"})

# ``meta.source`` of the records the referral workflow writes (its ServiceRequest, Task, Consent, Appointment,
# opinions and discharge summaries): only the workflow changes them.
WORKFLOW_SOURCE = "urn:alliance-hub:referrals"

# Permissions (``access.<codename>``) that make a user a hub auditor, or an emergency clinician who may
# break the glass without working in an emergency department.
AUDITOR_PERMISSION = "access.audit_all"
BREAK_GLASS_PERMISSION = "access.break_glass"


# Action names: FHIR interactions are ``fhir_gateway.context`` (READ, SEARCH, CREATE, ...); the federation's own
# endpoints are ``federation.hooks`` (SITE_HEALTH); the hub's pages and APIs ask the functions of this package.
