"""What the hub tells its operators: Prometheus metrics at ``/metrics``, JSON logs with a request id.

- ``asgi.observed(app)`` wraps the ASGI application: every HTTP request and websocket gets a request id
  (``X-Request-ID``, kept from the proxy or made here) that logs carry and Celery tasks inherit, and is
  counted and timed per endpoint family.
- ``metrics``: the metric objects and the collectors read at scrape time (sync lag, outbox depth, dead
  letters, Celery queue lengths, ...).
- ``logs``: the JSON log formatter (``LOG_FORMAT=json``) and the request-id filter.
"""
