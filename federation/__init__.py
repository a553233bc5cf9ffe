"""Member sites, their endpoints and credentials, sync in and out, patient identity.

Uses ``fhir_gateway``; never imports ``hub``.
"""
