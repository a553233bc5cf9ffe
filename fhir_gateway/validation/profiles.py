"""``$validate`` against a profile the hub stores (a StructureDefinition with a snapshot).

http://hl7.org/fhir/R4/profiling.html: for each element of the snapshot (slices aside), where its parent
is present: the cardinality (``min``/``max``), the types allowed for a choice, ``fixed[x]`` (exactly
equal) and ``pattern[x]`` (the value holds at least the pattern), the binding (required: error;
extensible/preferred: warning) against the R4 value sets or a ValueSet the hub stores, and the profile's
own invariants (compiled with the same FHIRPath compiler; those it cannot evaluate are reported as not
checked). Slicing, type profiles of elements and extension definitions are reported as not checked.
"""

from __future__ import annotations

import json

from fhir_gateway.search.valuesets import Codes, ValueSetError, codes, stored_canonical
from fhir_gateway.validation import definitions, fhirpath
from fhir_gateway.validation.checker import Context
from fhir_gateway.validation.messages import human, message

SOFT = ("extensible", "preferred")


def profile_load(reference: str) -> dict | None:
    """The stored StructureDefinition ``reference`` names (canonical URL or ``StructureDefinition/<id>``)."""
    profile = stored_canonical("StructureDefinition", reference)
    if not profile or not isinstance((profile.get("snapshot") or {}).get("element"), list):
        return None
    return profile


def _values(nodes: list, name: str) -> list[tuple[dict, str, list]]:
    """For each parent node, (parent, the JSON key found, the values under it) of element ``name``."""
    out = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        if name.endswith("[x]"):
            base = name[:-3]
            keys = [k for k in node if k.startswith(base) and len(k) > len(base) and k[len(base)].isupper()]
        else:
            keys = [name] if name in node else []
        values: list = []
        for key in keys:
            value = node[key]
            values.extend(value if isinstance(value, list) else [value])
        out.append((node, keys[0] if keys else name, values))
    return out


def _matches_pattern(value, pattern) -> bool:
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(_matches_pattern(value.get(k), v) for k, v in pattern.items())
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else []
        return all(any(_matches_pattern(item, p) for item in items) for p in pattern)
    return value == pattern


def _choice_value(element: dict, prefix: str) -> tuple[str, object] | None:
    for key, value in element.items():
        if key.startswith(prefix) and len(key) > len(prefix) and key[len(prefix)].isupper():
            return key, value
    return None


def _shown(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


class _Membership:
    """Whether codes are in a value set: the R4 tables, else a ValueSet the hub stores."""

    def __init__(self):
        self.cache: dict[str, Codes | str] = {}

    def codes(self, url: str) -> Codes | str:
        if url not in self.cache:
            known = definitions.definitions().value_sets.get(url.split("|")[0])
            if known is not None:
                self.cache[url] = Codes(pairs=set(known.pairs)) if not known.reason else known.reason
            else:
                try:
                    self.cache[url] = codes(url)
                except ValueSetError as error:
                    self.cache[url] = str(error)
        return self.cache[url]

    @staticmethod
    def contains(found: Codes, system: str | None, code: str | None) -> bool:
        if code is None:
            return False
        if system is None:
            return any(c == code for _s, c in found.pairs)
        return (system, code) in found.pairs or (system in found.systems and code not in found.systems[system])


def profile_issues(resource: dict, profile: dict, *, reference: str) -> list[dict]:  # noqa: C901
    """The issues of ``resource`` against ``profile`` (errors, warnings, and what is not checked)."""
    ctx = Context(full=True)
    resource_type = resource.get("resourceType")
    if profile.get("type") != resource_type:
        ctx.error("invalid", resource_type, "type-mismatch", type=resource_type, expected=profile.get("type"))
        return ctx.issues
    membership = _Membership()
    env = {"resource": resource, "rootResource": resource, "context": None, "ucum": "http://unitsofmeasure.org"}
    base = definitions.definitions().types
    nodes_by_path: dict[str, list[tuple[str, object]]] = {resource_type: [(resource_type, resource)]}
    for element in profile["snapshot"]["element"]:
        path, element_id = element.get("path", ""), element.get("id", "")
        if ":" in element_id:
            ctx.note(("slices", reference), resource_type, "profile-not-checked", what="Slicing", profile=reference)
            continue
        if "." not in path:
            _profile_invariants(element, nodes_by_path.get(path, []), base.get(path), env, ctx)
            continue
        parent_path, name = path.rsplit(".", 1)
        parents = nodes_by_path.get(parent_path)
        if not parents:
            continue
        children: list[tuple[str, object]] = []
        for parent_where, parent in parents:
            for _node, key, values in _values([parent], name):
                count = len(values)
                where = f"{parent_where}.{key.removesuffix('[x]')}"
                minimum, maximum = element.get("min", 0), element.get("max", "*")
                if count < minimum:
                    ctx.error("required", where, "missing", name=name)
                if maximum != "*" and count > int(maximum):
                    if int(maximum) == 0:
                        ctx.error("structure", where, "prohibited", name=name)
                    else:
                        ctx.error("structure", where, "too-many", name=name, count=count, max=maximum)
                for index, value in enumerate(values):
                    children.append((f"{where}[{index}]" if count > 1 else where, value))
                if name.endswith("[x]") and values and element.get("type"):
                    allowed = {t.get("code", "")[:1].upper() + t.get("code", "")[1:] for t in element["type"]}
                    if key[len(name) - 3 :] not in allowed:
                        ctx.error("structure", where, "unknown-element", name=key)
        for where, value in children:
            fixed = _choice_value(element, "fixed")
            if fixed is not None and value != fixed[1]:
                ctx.error("value", where, "profile-fixed", value=_shown(fixed[1]))
            pattern = _choice_value(element, "pattern")
            if pattern is not None and not _matches_pattern(value, pattern[1]):
                ctx.error("value", where, "profile-pattern", value=_shown(pattern[1]))
            binding = element.get("binding") or {}
            if binding.get("valueSet") and binding.get("strength") in ("required", *SOFT):
                _binding(value, binding, where, membership, ctx)
            if element.get("type") and any(t.get("profile") for t in element["type"]):
                ctx.note(("type-profile", path), where, "profile-not-checked", what="Type profiles", profile=path)
        nodes_by_path[path] = children
        _profile_invariants(element, children, None, env, ctx)
    return ctx.issues


def _binding(value, binding: dict, where: str, membership: _Membership, ctx: Context) -> None:
    url, strength = binding["valueSet"], binding["strength"]
    found = membership.codes(url)
    if isinstance(found, str):
        ctx.note(("binding", url), where, "binding-not-checked", value_set=url, reason=found)
        return
    if isinstance(value, str):
        pairs = [(None, value)]
    elif isinstance(value, dict) and isinstance(value.get("coding"), list):
        pairs = [(c.get("system"), c.get("code")) for c in value["coding"] if isinstance(c, dict)]
    elif isinstance(value, dict):
        pairs = [(value.get("system"), value.get("code"))]
    else:
        return
    if any(membership.contains(found, system, code) for system, code in pairs):
        return
    shown = ", ".join(f"{s}|{c}" if s else str(c) for s, c in pairs) or "-"
    if strength == "required":
        ctx.error("code-invalid", where, "binding-required", code=shown[:200], value_set=url)
    else:
        text = message("binding-soft", code=shown[:200], value_set=url, strength=strength)
        ctx.add("warning", "code-invalid", where, "binding-soft", text)


def _profile_invariants(element: dict, nodes: list, base_type, env: dict, ctx: Context) -> None:
    """The profile's constraints that its base type does not already check."""
    known = {i.key for i in base_type.invariants} if base_type is not None else set()
    for constraint in element.get("constraint") or []:
        key = constraint.get("key", "")
        source = constraint.get("source", "")
        if key in known or key.startswith(("ele-", "dom-", "ext-")) or source.startswith("http://hl7.org/fhir/Struc"):
            continue
        text = human(key, constraint.get("human", ""))
        try:
            tree = fhirpath.to_ast(constraint.get("expression", ""))
            fn = fhirpath.compile_ast(tree, definitions.definitions().choice_bases)
        except Exception as error:  # any parse or compile failure: reported as not checked
            where = element.get("path")
            ctx.note(("invariant", key), where, "invariant-not-checked", key=key, human=text, reason=str(error)[:200])
            continue
        for where, node in nodes:
            env["context"] = node
            try:
                holds = fhirpath.holds(fn, node, env)
            except fhirpath.EvaluationError as error:
                ctx.note(("error", key, where), where, "invariant-error", key=key, error=str(error))
                continue
            if not holds:
                severity = "error" if constraint.get("severity") == "error" else "warning"
                ctx.add(severity, "invariant", where, key, message("invariant", key=key, human=text))
