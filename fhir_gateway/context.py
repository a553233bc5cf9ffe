"""Who is calling the gateway, and what they are doing.

Every interaction with the store passes through ``fhir_gateway.services`` with an
``Actor``; the REST views build it from the request through the resolvers that
other apps register in ``fhir_gateway.hooks`` (the gateway itself knows nothing
of the hub's users or the federation's site credentials).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ANONYMOUS = "anonymous"
USER = "user"  # a person signed in to the hub
SYSTEM = "system"  # a member site's system (OAuth2 client credentials)
SYNC = "sync"  # the hub's own sync engine, acting for a member site
INTERNAL = "internal"  # the hub's workflow code


@dataclass(frozen=True)
class Actor:
    """The party behind an interaction, recorded with every write."""

    kind: str
    id: str = ""
    display: str = ""
    # The party the actor acts for (for the hub, a member site's code); written records are owned by it.
    site: str = ""
    # SMART scopes granted to a system actor, e.g. {"system/*.read", "system/Patient.write"}.
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_authenticated(self) -> bool:
        return self.kind != ANONYMOUS


# The interactions an ``Interaction.action`` names (http://hl7.org/fhir/R4/http.html), defined once here.
READ, VREAD, SEARCH, HISTORY = "read", "vread", "search", "history"
CREATE, UPDATE, PATCH, DELETE = "create", "update", "patch", "delete"
TRANSACTION, BATCH, OPERATION, CAPABILITIES = "transaction", "batch", "operation", "capabilities"
READ_ACTIONS = frozenset({READ, VREAD, SEARCH, HISTORY})
WRITE_ACTIONS = frozenset({CREATE, UPDATE, PATCH, DELETE})

# When an access policy is asked (``Interaction.stage``): before anything is looked up (only the type and the
# action are known), once the target record is known (its owner in ``detail["owner"]``; before a patch is
# applied or a precondition is checked), and with the content read or about to be written.
REQUEST, TARGET, CONTENT = "request", "target", "content"

ANONYMOUS_ACTOR = Actor(kind=ANONYMOUS)
INTERNAL_ACTOR = Actor(kind=INTERNAL, id="hub", display="Alliance Hub")


@dataclass
class Interaction:
    """One FHIR interaction (http://hl7.org/fhir/R4/http.html), as seen by hooks."""

    actor: Actor
    action: str  # create, read, vread, update, patch, delete, search, history, transaction, batch, operation
    resource_type: str | None = None
    fhir_id: str | None = None
    operation: str | None = None  # e.g. "$validate", "$everything"
    source: str = ""  # meta.source to stamp on writes
    detail: dict = field(default_factory=dict)
    stage: str = "content"  # which question an access policy is asked now (REQUEST, TARGET or CONTENT)
    recorded: bool = False  # the write recorders have recorded it, inside its transaction (``hooks.write_recorders``)


@dataclass(frozen=True)
class Change:
    """One stored change, as ``hooks.write_listeners`` see it (``content`` None: deleted)."""

    resource_type: str
    fhir_id: str
    version_id: int
    method: str
    owner: str
    content: dict | None
