"""One outbox for everything that leaves the hub: opinions written back to sites, Subscription notifications,
emails and texts.

A delivery is a row (``models.OutboxMessage``) written in the caller's own transaction, so it exists exactly
when the change it reports does. Once that transaction commits, the message is handed to a Celery worker
(``tasks.outbox_deliver_task``) through a thread of the process (the request never waits on the broker). The
worker claims it under a short row lock, then sends it with no lock held, then records the outcome. A
beat task (``outbox.sweep``, every ``OUTBOX_SWEEP_SECONDS``) re-queues what is due and not with a worker: a
retry whose time has come, a task lost with a killed worker or a restarted Redis, a claim whose lease
(``OUTBOX_LEASE_SECONDS``) ran out. Nothing relies on the broker's visibility timeout.

API (stable; import from the modules named)
-------------------------------------------
Enqueue, inside the caller's ``transaction.atomic()``::

    from federation.outbox.services import outbox_enqueue
    message = outbox_enqueue(
        kind="subscriptions.rest-hook",      # the registered handler that sends it
        destination="hook:https://x.example", # the circuit breaker's key: one breaker per destination
        payload={...},                        # JSON; what the handler needs (ids rather than copies, ideally)
        ordering_key="subscription:42",       # delivered in id order within a key ("" = no order)
        event_id=uuid,                        # optional: the idempotency key sent to the receiver; an
                                              # event_id already in the outbox is not written twice
        site_code="county-a",                 # whose site administrators see it (dead letters, re-send)
        subject="subscription:42",            # what it is about, for the owner's status views
    )

Nothing is sent if the transaction rolls back. ``message.event_id`` (a UUID) is the same on every attempt:
send it to the receiver (``idempotency_headers(message)`` gives ``{"Idempotency-Key": ...}``) so that a
receiver that got an attempt whose answer was lost can confirm it once, not store it twice.

Register the handler of a kind, from the owning app's ``AppConfig.ready`` (it must run in workers too)::

    from federation.outbox.registry import GiveUp, Retry, handler_register
    def send(message) -> dict | None:    # outside any transaction and row lock; raise to retry
                                         # (Retry("HTTP 503: ...") records just those words),
        ...                              # raise GiveUp("why") when retrying cannot help (dead letter now);
        return {"location": ...}         # a small JSON result, kept on the message
    def recorded(message) -> None:       # optional: inside the claim's and the outcome's transactions,
        ...                              # mirror message.state/attempts/last_error/dead_reason; no network
    handler_register("subscriptions.rest-hook", send=send, recorded=recorded)

Retries: ``policy.RetryPolicy.outbox()`` (exponential backoff with jitter from ``OUTBOX["backoff"]`` up to
``OUTBOX["max_wait"]``; given up after ``OUTBOX["give_up_after"]`` seconds, never less than 24 h, as a dead
letter with its reason). The same ``RetryPolicy`` class drives the sites' pull sync
(``federation.sync.client``). Circuit breaker: ``breaker`` (``breaker_open_until``, ``breaker_success``,
``breaker_failure``), one per destination, shared with the pull sync (a site's key is
``breaker.site_destination(code)``); while open, messages wait until the probe time.

Order: within an ordering key a message is sent only once every earlier one is delivered or dead.
Dead letters: ``selectors.dead_letters(site_codes)``; ``services.outbox_resend(message_id=...)`` sends one
again with a fresh 24 h window. Metrics: ``selectors.outbox_depths()`` (``hub_outbox_messages``).
Without a broker (development, tests, the embedded demo) a message is delivered in line once the
transaction commits; retries then wait for the sweeper (``outbox_sweep``) like everything else.
"""
