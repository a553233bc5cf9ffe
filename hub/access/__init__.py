"""Who may see what: the one home of the hub's access rules.

Every entry point (the FHIR gateway's hooks, the referral API and pages, federation endpoints, websockets,
consultation rooms, live device views) asks this package. Modules:

- ``rules``: one rule set per actor kind (``constants.ActorKind``); each yields a ``Visibility`` (the database
  filter of searches, lists and counts, and the test of one record) and says what the actor may change.
- ``actors``: which rule set applies to a gateway ``Actor`` or a hub user.
- ``gateway``: the rules plugged into ``fhir_gateway.hooks`` (visibility, access policy, write stamps).
- ``endpoints``: the rules plugged into ``federation.hooks`` (the federation's own endpoints), and the hub's own
  non-FHIR endpoints: ``/metrics`` (scrapers only), the OAuth application pages (the hub's administrators).
- ``dashboards``: who sees which part of the network dashboard (page, API, exports).
- ``referrals``: who sees a referral request, who may act on it, whose records it shares.
- ``workflow``: the workflow's own records (a signed opinion never changes).
- ``patients``: ``patient_visible(user, patient_ref) -> bool`` and ``patient_check(...)`` (raising
  ``hub.api_errors.NotFoundError``: one answer for "missing" and "forbidden").
- ``grants``: ``grant_open(...)`` / ``grant_close(...)``, time-bounded shares of one patient's records with one
  user (a consultation room's participant, an invited expert, break-the-glass); ``patient_refs_granted(user)``.
- ``break_glass``: emergency access with a reason, flagged in the audit trail, reviewed by the site admin.

Import them from their modules; this package's ``__init__`` stays free of model imports so that the app
registry can load it.
"""
