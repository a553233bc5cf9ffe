"""The FHIR REST API (http://hl7.org/fhir/R4/http.html): thin views over ``fhir_gateway.services``."""
