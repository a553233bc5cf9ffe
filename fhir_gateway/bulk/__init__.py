"""FHIR Bulk Data Access export (https://hl7.org/fhir/uv/bulkdata/STU2/export.html).

``$export`` at system, ``Patient`` and ``Group/[id]`` level: an asynchronous kick-off (``Prefer:
respond-async``, 202 and ``Content-Location``), a status URL polled for progress (``X-Progress``,
``Retry-After``) and cancelled by ``DELETE``, and NDJSON files per resource type served to the
requester only, until they expire. ``_type``, ``_since`` and ``_typeFilter`` narrow it; the access
hooks decide what the requester may export, as for a search. A worker writes the files in batches
by primary key (bounded memory, no long transaction); a job whose worker died is started again.
"""
