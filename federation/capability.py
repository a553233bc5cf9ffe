"""What the federation adds to the gateway's CapabilityStatement (``fhir_gateway.hooks.capability_contributors``).

``Patient/$match`` (served by ``federation.api.match``) and ``rest.security``: SMART backend services
(OAuth2 client credentials at the token URL, ``system/`` scopes, http://hl7.org/fhir/smart-app-launch/).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.urls import reverse

MATCH = {"name": "match", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-match"}
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
SCOPES = "system/*.read system/*.write system/*.* system/<Type>.read system/<Type>.write system/<Type>.<cruds>"


def capability_contribute(rest: dict, *, base_url: str) -> None:
    for resource in rest.get("resource") or []:
        if resource.get("type") == "Patient":
            resource.setdefault("operation", []).append(dict(MATCH))
    parts = urlsplit(base_url)
    token_url = urlunsplit((parts.scheme, parts.netloc, reverse("oauth2_provider:token"), "", ""))
    rest["security"] = {
        "extension": [{"url": OAUTH_URIS, "extension": [{"url": "token", "valueUri": token_url}]}],
        "cors": False,
        "service": [
            {"coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR"}], "text": "SMART backend services"}
        ],
        "description": (
            f"Bearer tokens: site systems get one from {token_url} (OAuth2 client credentials, SMART backend "
            f"services) with the scopes granted to their client: {SCOPES}; the hub's users use their session "
            "or an API token. Every interaction is checked against the caller's site and audited."
        ),
    }
