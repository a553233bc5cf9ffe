"""The alliance's directory as IHE mCSD resources in the gateway (https://profiles.ihe.net/ITI/mCSD/).

Each site is an Organization (``partOf`` its alliance) with a Location; each department an Organization
``partOf`` its hospital with a HealthcareService for its specialty; each site's FHIR endpoint an
Endpoint. Ids are derived from the hub's own codes, so publishing again updates. Practitioners and
their roles are published by ``practitioner_role_publish``, which the hub calls for its users.
"""

from __future__ import annotations

from django.db import transaction

from federation.sites.models import Department, Site
from federation.sites.sync_config import SiteSync
from fhir_gateway import services
from fhir_gateway.context import INTERNAL_ACTOR

SITE_CODE_SYSTEM = "https://alliance.example/fhir/NamingSystem/site-code"
SPECIALTY_SYSTEM = "https://alliance.example/fhir/CodeSystem/specialty"
ORG_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/organization-type"


def _fid(*parts: str) -> str:
    return "-".join(p.replace("_", "-") for p in parts)[:64]


def organization_of(site: Site) -> dict:
    org = {
        "resourceType": "Organization",
        "id": _fid("site", site.code),
        "identifier": [{"system": SITE_CODE_SYSTEM, "value": site.code}],
        "active": site.active,
        "type": [{"coding": [{"system": ORG_TYPE_SYSTEM, "code": "prov" if site.parent_id else "other"}]}],
        "name": site.name,
    }
    if site.name_en:
        org["alias"] = [site.name_en]
    if site.parent_id:
        org["partOf"] = {"reference": f"Organization/{_fid('site', site.parent.code)}"}
    return org


def _site_resources(site: Site) -> list[dict]:
    resources = [organization_of(site)]
    if site.parent_id:
        resources.append(
            {
                "resourceType": "Location",
                "id": _fid("loc", site.code),
                "status": "active" if site.active else "inactive",
                "name": site.name,
                "mode": "instance",
                "managingOrganization": {"reference": f"Organization/{_fid('site', site.code)}"},
            }
        )
    for dept in site.departments.all():
        org_id = _fid("dept", site.code, dept.code)
        resources.append(
            {
                "resourceType": "Organization",
                "id": org_id,
                "identifier": [{"system": SITE_CODE_SYSTEM, "value": f"{site.code}/{dept.code}"}],
                "active": True,
                "type": [{"coding": [{"system": ORG_TYPE_SYSTEM, "code": "dept"}]}],
                "name": dept.name,
                "partOf": {"reference": f"Organization/{_fid('site', site.code)}"},
            }
        )
        resources.append(
            {
                "resourceType": "HealthcareService",
                "id": _fid("svc", site.code, dept.code),
                "active": True,
                "providedBy": {"reference": f"Organization/{org_id}"},
                "specialty": [{"coding": [{"system": SPECIALTY_SYSTEM, "code": dept.specialty}]}],
                "name": dept.name,
                "location": [{"reference": f"Location/{_fid('loc', site.code)}"}],
            }
        )
    sync = SiteSync.objects.filter(site=site).first()
    if sync is not None:
        resources.append(
            {
                "resourceType": "Endpoint",
                "id": _fid("ep", site.code),
                "status": "active" if sync.enabled else "off",
                "connectionType": {
                    "system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
                    "code": "hl7-fhir-rest",
                },
                "managingOrganization": {"reference": f"Organization/{_fid('site', site.code)}"},
                "payloadType": [{"text": "FHIR R4"}],
                "address": sync.base_url,
            }
        )
    return resources


def _put(resources: list[dict]) -> None:
    entries = [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in resources
    ]
    if entries:
        services.bundle_process(
            bundle={"resourceType": "Bundle", "type": "transaction", "entry": entries},
            actor=INTERNAL_ACTOR,
            base_url="urn:alliance:hub",
        )


@transaction.atomic
def directory_publish(*, sites: list[Site] | None = None) -> int:
    """Write the mCSD resources of ``sites`` (all when None); returns how many resources were written."""
    if sites is None:
        sites = list(Site.objects.select_related("parent").order_by("kind", "code"))
    resources = [r for site in sites for r in _site_resources(site)]
    _put(resources)
    return len(resources)


def practitioner_role_publish(
    *, username: str, name: str, site: Site, department: Department | None, active: bool = True
) -> None:
    """A Practitioner and its PractitionerRole at ``site`` (and department) for one of the hub's users."""
    practitioner = {
        "resourceType": "Practitioner",
        "id": _fid("pract", username),
        "identifier": [{"system": "https://alliance.example/fhir/NamingSystem/username", "value": username}],
        "active": active,
        "name": [{"text": name}],
    }
    org_id = _fid("dept", site.code, department.code) if department else _fid("site", site.code)
    role = {
        "resourceType": "PractitionerRole",
        "id": _fid("role", username),
        "active": active,
        "practitioner": {"reference": f"Practitioner/{practitioner['id']}"},
        "organization": {"reference": f"Organization/{org_id}"},
    }
    if department is not None:
        role["specialty"] = [{"coding": [{"system": SPECIALTY_SYSTEM, "code": department.specialty}]}]
        role["healthcareService"] = [{"reference": f"HealthcareService/{_fid('svc', site.code, department.code)}"}]
    _put([practitioner, role])
