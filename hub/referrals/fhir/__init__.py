"""The referral workflow's FHIR side: resource builders, the gateway adapter and the access policy."""
