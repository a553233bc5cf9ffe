"""Hears every stored change (``fhir_gateway.hooks.write_listeners``), inside the transaction that stores it.

Writes of ``Subscription`` resources by a user or a site system configure what the hub runs; every other
change is matched against the active subscriptions of its type, and the matches become numbered events and
notifications in the same transaction, so a change is never stored without its notifications, nor the reverse.
A deletion is told to the subscriptions that were told of the resource.
"""

from __future__ import annotations

from fhir_gateway.context import Actor, Change


def changes_heard(actor: Actor, changes: list[Change]) -> None:
    from federation.subscriptions.services import events_record, subscription_configure
    from federation.subscriptions.subscribers import SUBSCRIBER_KINDS

    if actor.kind in SUBSCRIBER_KINDS:
        for change in changes:
            if change.resource_type == "Subscription":
                subscription_configure(actor=actor, change=change)
    events_record(changes=[c for c in changes if c.resource_type != "Subscription"])
