"""One walk over a resource's JSON checks everything the R4 definitions say of it (http://hl7.org/fhir/R4/validation.html).

At each object the walk looks every property up in its type's elements (a dict by JSON name) and checks,
in one pass: known elements, JSON array or not, cardinality, choice types, primitives, required bindings
(and, in ``$validate``, extensible and preferred ones), reference targets, the narrative, ``ele-1``,
``ext-1``, then the type's invariants whose elements are present, and at each resource ``dom-2``..``dom-6``.
On a write (``full=False``) only errors are looked for; ``$validate`` (``full=True``) also reports
warnings, and as information what is not checked (value sets and invariants the hub cannot evaluate).
"""

from __future__ import annotations

import re

import orjson

from fhir_gateway.validation import definitions as d
from fhir_gateway.validation.fhirpath import EvaluationError
from fhir_gateway.validation.invariants import ref_1_holds
from fhir_gateway.validation.messages import human, issue, message
from fhir_gateway.validation.narrative import narrative_problems
from fhir_gateway.validation.primitives import build_checks

MAX_ISSUES = 100
UCUM = "http://unitsofmeasure.org"
LOCAL_REFERENCE_TYPES = frozenset({"uri", "url", "canonical"})
_ABSOLUTE = re.compile(r"([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?$")


class Context:
    """The state of one validation: issues found, the resource being walked and its container."""

    __slots__ = ("issues", "errors", "full", "shallow", "env", "local_refs", "document_refs", "entry_base", "told")

    def __init__(self, *, full: bool, shallow: bool = False):
        self.issues: list[dict] = []
        self.errors = 0
        self.full = full
        self.shallow = shallow  # Bundle envelopes: entry resources are checked on their own
        self.env = {"resource": None, "rootResource": None, "context": None, "ucum": UCUM}
        self.local_refs: set[str] = set()
        self.document_refs: list | None = None
        self.entry_base: str | None = None
        self.told: set = set()  # not-checked notes already given

    def add(self, severity: str, code: str, path: str | None, message_id: str, text: str) -> None:
        if severity in ("error", "fatal"):
            self.errors += 1
        elif not self.full:
            return
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(issue(severity, code, text, path, message_id))

    def error(self, issue_type: str, path: str | None, message_id: str, **params) -> None:
        self.add("error", issue_type, path, message_id, message(message_id, **params))

    def note(self, once: object, path: str | None, message_id: str, **params) -> None:
        """Information (``$validate`` only), given once per ``once``."""
        if self.full and once not in self.told:
            self.told.add(once)
            self.add("information", "informational", path, message_id, message(message_id, **params))


class Checker:
    """The compiled definitions and the walk over them."""

    def __init__(self, definitions: d.Definitions):
        self.types = definitions.types
        self.value_sets = definitions.value_sets
        self.resource_types = frozenset(definitions.resources)
        self.checks = build_checks(definitions.primitives)
        self.extension = self.types["Extension"]
        self.element = self.types["Element"]
        # ref-1 is checked in the Reference step itself (``reference``), where the reference is read anyway.
        reference = self.types["Reference"]
        reference.invariants = [i for i in reference.invariants if i.key != "ref-1"]
        for tdef in self.types.values():
            for element in tdef.elements.values():
                if element.kind == d.PRIMITIVE:
                    element.check = self.checks[element.type]
                    element.plain = not (
                        element.array
                        or element.binding
                        or element.invariants
                        or element.max == 0
                        or element.type in LOCAL_REFERENCE_TYPES
                    )
                elif element.kind == d.COMPLEX:
                    element.tdef = self.types[element.type]

    # -- resources ------------------------------------------------------------------------------------------

    def resource(self, resource: dict, path: str, ctx: Context, *, contained: bool = False) -> None:
        resource_type = resource.get("resourceType")
        if type(resource_type) is not str:
            ctx.error("required", path, "no-resource-type")
            return
        tdef = self.types.get(resource_type) if resource_type in self.resource_types else None
        if tdef is None:
            ctx.error("not-supported", f"{path}.resourceType", "unknown-type", type=resource_type[:80])
            return
        env = ctx.env
        saved = env["resource"], env["rootResource"], ctx.local_refs, ctx.document_refs
        env["resource"] = resource
        if not contained:
            env["rootResource"] = resource
            ctx.local_refs = set()
            if resource_type == "Bundle":
                ctx.document_refs = [] if resource.get("type") == "document" else None
        try:
            self.object(resource, tdef, path, ctx)
            if not contained:
                if type(resource.get("contained")) is list:
                    self.contained(resource, path, ctx)
                if ctx.full and "text" in tdef.elements and not _has_div(resource):
                    key = "dom-6"
                    ctx.add("warning", "invariant", path, key, _invariant_text(key, "A resource should have narrative"))
                if ctx.document_refs is not None and resource_type == "Bundle":
                    self.document_references(resource, path, ctx)
        finally:
            env["resource"], env["rootResource"], ctx.local_refs, ctx.document_refs = saved

    def contained(self, resource: dict, path: str, ctx: Context) -> None:
        """dom-2..dom-5 (http://hl7.org/fhir/R4/domainresource.html#invs), for a resource's contained resources."""
        for index, inner in enumerate(resource["contained"]):
            if type(inner) is not dict:
                continue
            where = f"{path}.contained[{index}]"
            if "contained" in inner:
                _fail(ctx, "dom-2", where)
            meta = inner.get("meta") if type(inner.get("meta")) is dict else {}
            if "versionId" in meta or "lastUpdated" in meta:
                _fail(ctx, "dom-4", where)
            if "security" in meta:
                _fail(ctx, "dom-5", where)
            inner_id = inner.get("id")
            referred = type(inner_id) is str and "#" + inner_id in ctx.local_refs
            if not referred and b'"#"' not in orjson.dumps(inner):  # nor does it refer to its container
                _fail(ctx, "dom-3", where)

    def document_references(self, bundle: dict, path: str, ctx: Context) -> None:
        """References inside a document resolve to its entries (http://hl7.org/fhir/R4/bundle.html#references)."""
        full_urls, ids = set(), set()
        for entry in bundle.get("entry") or []:
            if type(entry) is not dict:
                continue
            if type(entry.get("fullUrl")) is str:
                full_urls.add(entry["fullUrl"])
            resource = entry.get("resource")
            if type(resource) is dict:
                ids.add(f"{resource.get('resourceType')}/{resource.get('id')}")
        for reference, where, base in ctx.document_refs or []:
            target = reference.split("/_history/", 1)[0]
            if target in full_urls:
                continue
            if not target.startswith(("http:", "https:", "urn:")) and "?" not in target:
                if target in ids:
                    continue
                if base and _ABSOLUTE.search(base):
                    prefix = base[: _ABSOLUTE.search(base).start()]
                    if prefix + target in full_urls:
                        continue
            ctx.error("invalid", where, "document-reference", reference=reference[:200])

    # -- objects and values ---------------------------------------------------------------------------------

    def object(self, node: dict, tdef: d.TypeDef, path: str, ctx: Context) -> None:  # noqa: C901
        elements = tdef.elements
        seen_choices = None
        value_of = self.value
        for key, value in node.items():
            element = elements.get(key)
            if element is None:
                if key[0] == "_" and key[1:] in elements and elements[key[1:]].kind == d.PRIMITIVE:
                    self.shadow(node, key[1:], value, elements[key[1:]], path, ctx)
                elif key != "resourceType" or not tdef.resource:
                    ctx.error("structure", f"{path}.{key}", "unknown-element", name=key)
                continue
            plain = element.plain and value is not None and type(value) is not list
            if plain:
                problem = element.check(value)
                if problem is not None:
                    ctx.error("value", _path(path, element, None), problem[0], **problem[1])
                if not element.choice:
                    continue
            if element.choice:
                if seen_choices is None:
                    seen_choices = {element.name}
                elif element.name in seen_choices:
                    ctx.error("structure", f"{path}.{element.name}", "choice-many", name=element.name)
                else:
                    seen_choices.add(element.name)
            if plain:
                continue
            if element.max == 0:
                ctx.error("structure", f"{path}.{key}", "prohibited", name=key)
                continue
            if element.array:
                if type(value) is not list:
                    ctx.error("structure", f"{path}.{key}", "not-array", name=key)
                    continue
                if not value:
                    ctx.error("structure", f"{path}.{key}", "empty-array")
                    continue
                for index, item in enumerate(value):
                    value_of(item, element, path, index, node, ctx)
            elif type(value) is list:
                ctx.error("structure", f"{path}.{key}", "not-single", name=key)
            else:
                value_of(value, element, path, None, node, ctx)
        for element, keys in tdef.required:
            for key in keys:
                if key in node:
                    break
            else:
                ctx.error("required", f"{path}.{element.name}", "missing", name=element.name)
        for key, maximum in tdef.bounded:
            found = node.get(key)
            if type(found) is list and len(found) > maximum:
                ctx.error("structure", f"{path}.{key}", "too-many", name=key, count=len(found), max=maximum)
        if not tdef.resource and (not node or (len(node) == 1 and "id" in node)):
            _fail(ctx, "ele-1", path)
        if tdef.invariants:
            self.invariants(tdef.invariants, node, path, ctx)

    def value(self, value, element: d.Element, path: str, index: int | None, parent: dict, ctx: Context) -> None:  # noqa: C901
        kind = element.kind
        if value is None:
            if not (kind == d.PRIMITIVE and index is not None and _shadowed(parent, element.key, index)):
                ctx.error("structure", _path(path, element, index), "null")
            return
        if kind == d.PRIMITIVE:
            problem = element.check(value)
            if problem is not None:
                ctx.error("value", _path(path, element, index), problem[0], **problem[1])
                return
            if element.type in LOCAL_REFERENCE_TYPES and value[0] == "#":
                ctx.local_refs.add(value)
            if element.binding is not None:
                self.binding(value, element, path, index, ctx)
            where = None
        elif kind == d.COMPLEX:
            where = _path(path, element, index)
            if type(value) is not dict:
                ctx.error("structure", where, "not-object", name=element.key)
                return
            type_name = element.type
            self.object(value, element.tdef, where, ctx)
            if type_name == "Reference":
                self.reference(value, element, where, ctx)
            elif type_name == "Extension" and ("extension" in value) == _has_value(value):
                _fail(ctx, "ext-1", where)
            if element.binding is not None:
                self.binding(value, element, path, index, ctx)
        elif kind == d.RESOURCE:
            where = _path(path, element, index)
            if type(value) is not dict:
                ctx.error("structure", where, "not-object", name=element.key)
                return
            if ctx.shallow:
                return
            contained = element.key == "contained"
            if not contained and ctx.document_refs is not None:
                ctx.entry_base = parent.get("fullUrl") if type(parent.get("fullUrl")) is str else None
            self.resource(value, where, ctx, contained=contained)
        else:
            where = _path(path, element, index)
            if type(value) is not str or not value:
                ctx.error("value", where, "primitive", value=repr(value)[:80], type="xhtml")
                return
            for problem in narrative_problems(value):
                ctx.error("value", where, problem[0], **problem[1])
        if element.invariants:
            self.invariants(element.invariants, value, where or _path(path, element, index), ctx)

    def shadow(self, node: dict, name: str, value, element: d.Element, path: str, ctx: Context) -> None:
        """``_name``: a primitive's id and extensions, lined up with its values when it repeats."""
        where = f"{path}._{name}"
        if element.array:
            values = node.get(name)
            if type(value) is not list or (
                values is not None and (type(values) is not list or len(values) != len(value))
            ):
                ctx.error("structure", where, "shadow-mismatch", name=name)
                return
            for index, item in enumerate(value):
                if item is None:
                    if values is None or values[index] is None:
                        ctx.error("structure", f"{where}[{index}]", "null")
                    continue
                self.shadow_item(item, f"{where}[{index}]", ctx)
        elif type(value) is list:
            ctx.error("structure", where, "not-single", name="_" + name)
        elif value is None:
            ctx.error("structure", where, "null")
        else:
            self.shadow_item(value, where, ctx)

    def shadow_item(self, item, where: str, ctx: Context) -> None:
        if type(item) is not dict:
            ctx.error("structure", where, "not-object", name=where.rsplit(".", 1)[-1])
            return
        self.object(item, self.element, where, ctx)

    def reference(self, value: dict, element: d.Element, where: str, ctx: Context) -> None:
        reference = value.get("reference")
        if type(reference) is not str:
            return
        if reference[0] == "#":
            ctx.local_refs.add(reference)
            if not ref_1_holds(reference, ctx.env["rootResource"] or {}):
                _fail(ctx, "ref-1", where)
            return
        if ctx.document_refs is not None:
            ctx.document_refs.append((reference, where, ctx.entry_base))
        if element.targets is None:
            return
        target = _reference_type(reference)
        if target is not None and target in self.resource_types and target not in element.targets:
            allowed = ", ".join(sorted(element.targets))
            ctx.error("invalid", f"{where}.reference", "reference-target", type=target, allowed=allowed)

    def binding(self, value, element: d.Element, path: str, index: int | None, ctx: Context) -> None:  # noqa: C901
        strength, url = element.binding
        required = strength == "required"
        if not required and not ctx.full:
            return
        value_set = self.value_sets.get(url)
        if value_set is None or value_set.reason:
            reason = value_set.reason if value_set else "not in the tables"
            ctx.note(("binding", url), _path(path, element, index), "binding-not-checked", value_set=url, reason=reason)
            return
        type_name = element.type
        if element.kind == d.PRIMITIVE:
            if type(value) is not str or value in value_set.codes:
                return
            shown = value
        elif type_name == "Coding":
            if (value.get("system"), value.get("code")) in value_set.pairs:
                return
            shown = f"{value.get('system')}|{value.get('code')}"
        elif type_name == "CodeableConcept":
            codings = [c for c in value.get("coding") or [] if type(c) is dict]
            if not codings:
                if required:
                    ctx.error("code-invalid", _path(path, element, index), "binding-no-code", value_set=url)
                return
            if any((c.get("system"), c.get("code")) in value_set.pairs for c in codings):
                return
            shown = ", ".join(f"{c.get('system')}|{c.get('code')}" for c in codings)
        elif type_name in ("Quantity", "SimpleQuantity", "Age", "Duration", "Distance", "Count", "MoneyQuantity"):
            if "code" not in value or (value.get("system"), value.get("code")) in value_set.pairs:
                return
            shown = f"{value.get('system')}|{value.get('code')}"
        else:
            return
        where = _path(path, element, index)
        if required:
            ctx.error("code-invalid", where, "binding-required", code=shown[:200], value_set=url)
        else:
            text = message("binding-soft", code=shown[:200], value_set=url, strength=strength)
            ctx.add("warning", "code-invalid", where, "binding-soft", text)

    def invariants(self, invariants: list[d.Invariant], node, path: str, ctx: Context) -> None:
        env = ctx.env
        for invariant in invariants:
            if invariant.severity != "error" and not ctx.full:
                continue
            fn = invariant.fn
            if fn is None:
                ctx.note(
                    ("invariant", invariant.key, invariant.context),
                    path,
                    "invariant-not-checked",
                    key=invariant.key,
                    human=human(invariant.key, invariant.human),
                    reason=invariant.reason,
                )
                continue
            gate = invariant.gate
            if gate is not None and (type(node) is not dict or gate.isdisjoint(node)):
                continue
            env["context"] = node
            try:
                holds = fn(node, env)
            except (EvaluationError, TypeError, ValueError, re.error) as error:
                ctx.note(("error", invariant.key, path), path, "invariant-error", key=invariant.key, error=str(error))
                continue
            if not holds:
                severity = "error" if invariant.severity == "error" else "warning"
                ctx.add(severity, "invariant", path, invariant.key, _invariant_text(invariant.key, invariant.human))


def _invariant_text(key: str, text: str) -> str:
    return message("invariant", key=key, human=human(key, text))


def _fail(ctx: Context, key: str, path: str) -> None:
    """A hand-checked invariant (ele-1, ext-1, dom-2..5) that does not hold."""
    ctx.add("error", "invariant", path, key, _invariant_text(key, ""))


def _path(path: str, element: d.Element, index: int | None) -> str:
    if element.choice:
        return f"{path}.{element.name}.ofType({element.key[len(element.name) :]})"
    return f"{path}.{element.key}" if index is None else f"{path}.{element.key}[{index}]"


def _shadowed(parent: dict, key: str, index: int) -> bool:
    shadow = parent.get("_" + key)
    return type(shadow) is list and index < len(shadow) and shadow[index] is not None


def _has_value(extension: dict) -> bool:
    return any(key.startswith("value") or key.startswith("_value") for key in extension)


def _has_div(resource: dict) -> bool:
    text = resource.get("text")
    return type(text) is dict and "div" in text


def _reference_type(reference: str) -> str | None:
    """The resource type a literal reference names, when it names one (not for ``urn:`` references)."""
    if reference.startswith("urn:"):
        return None
    if reference.startswith(("http:", "https:")):
        found = _ABSOLUTE.search(reference.split("?", 1)[0])
        return found.group(1) if found else None
    head = reference.partition("/")[0]
    if "?" in head:
        head = head.partition("?")[0]
    return head or None
