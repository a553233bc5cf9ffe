"""Batches: each entry succeeds or fails on its own (http://hl7.org/fhir/R4/http.html#brules)."""

from __future__ import annotations

from fhir_gateway.bundles.entries import entry_error, entry_parse
from fhir_gateway.bundles.transaction import entries_process
from fhir_gateway.context import Actor
from fhir_gateway.errors import FhirError
from fhir_gateway.interactions import atomic_deferred


def batch_run(*, entries: list, actor: Actor, base_url: str, prefer: str) -> dict:
    responses = []
    for index, raw in enumerate(entries):
        try:
            entry = entry_parse(index, raw, base_url)
            with atomic_deferred() as deferred:  # the entry's audit row in the entry's own transaction
                response = entries_process([entry], actor=actor, base_url=base_url, prefer=prefer, deferred=deferred)[0]
        except FhirError as error:
            error = entry_error(index, error) if not error.diagnostics.startswith("Bundle.entry") else error
            response = {"response": {"status": str(error.status), "outcome": error.outcome()}}
        responses.append(response)
    return {"resourceType": "Bundle", "type": "batch-response", "entry": responses}
