"""Dispatch a posted Bundle to batch or transaction processing."""

from __future__ import annotations

from fhir_gateway.context import Actor, Interaction
from fhir_gateway.interactions import interaction_scope


def bundle_run(*, bundle: dict, actor: Actor, base_url: str, prefer: str = "minimal") -> dict:
    from fhir_gateway.bundles.batch import batch_run
    from fhir_gateway.bundles.entries import envelope_check
    from fhir_gateway.bundles.transaction import transaction_run

    kind = bundle.get("type") if isinstance(bundle, dict) else None
    interaction = Interaction(actor=actor, action=kind if kind in ("batch", "transaction") else "transaction")
    with interaction_scope(interaction) as scope:
        kind, entries = envelope_check(bundle)
        interaction.detail["entries"] = len(entries)
        run = transaction_run if kind == "transaction" else batch_run
        response = run(entries=entries, actor=actor, base_url=base_url, prefer=prefer)
        scope.done(200)
        return response
