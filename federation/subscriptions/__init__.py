"""FHIR R4 Subscriptions (http://hl7.org/fhir/R4/subscription.html): rest-hook and websocket channels."""
