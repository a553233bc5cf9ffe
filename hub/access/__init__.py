"""Who may see what: the one home of the hub's access rules.

Every entry point (the FHIR gateway's policy hook, the referral API and pages, federation endpoints,
websockets, consultation rooms, live device views) asks this package. Its public interface:

- ``patient_visible(user, patient_ref) -> bool``: may ``user`` read the records of ``Patient/<id>``?
- ``patient_check(user, patient_ref) -> None``: the same, raising ``hub.api_errors.NotFoundError``
  when not (one answer for "missing" and "forbidden": existence is itself patient information).
- ``grant_open(...)`` / ``grant_close(...)``: a time-bounded share of one patient's records with one
  user (a consultation room's participant, an invited expert, break-the-glass), and its end.
- ``patient_refs_granted(user) -> set[str]``: the patients shared with ``user`` by open grants (with the
  same person's Patients at other sites, as linked in the master patient index).

Import them from their modules (``hub.access.patients``, ``hub.access.grants``); this package's
``__init__`` stays free of model imports so that the app registry can load it.
"""
