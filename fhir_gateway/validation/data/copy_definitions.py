"""Write ``r4.json``: the validator's tables, generated from the FHIR R4 (4.0.1) definitions (run by hand).

    .venv/bin/python fhir_gateway/validation/data/copy_definitions.py ../shared/data/fhir-r4

Reads ``profiles-types.json``, ``profiles-resources.json`` and ``valuesets.json`` (47 MB) once and keeps
what validation needs (~0.5 MB):

- ``resources``: the concrete R4 resource types.
- ``primitives``: each primitive type's regular expression (from its ``value`` element).
- ``types``: for every resource, complex data type and backbone element (keyed by its path, e.g.
  ``Patient.contact``), its elements ``[name, types, min, max, array, binding, targets]`` (``name`` ends
  in ``[x]`` for a choice; ``types`` a type name or a list of them for a choice; ``max`` -1 for ``*``;
  ``array`` 1 when the JSON form is an array; ``binding`` ``[strength, value set url]`` for required,
  extensible and preferred bindings; ``targets`` the types a Reference may point to, when restricted), and
  its invariants ``[key, severity, human, tree, element]`` (``tree``: the FHIRPath expression as
  ``fhirpath.to_ast`` parses it, or a string saying why it could not be; ``element``: the child element
  the invariant is about, or null for the element itself). ``ele-1``, ``ext-1``, ``dom-2``..``dom-6``
  and ``txt-1``/``txt-2`` are left out: the validator checks them in its walk.
- ``valueSets``: each bound value set's codes by system (``{"s": {system: [code, ...]}}``), or why it
  cannot be expanded here (``{"x": reason}``: a whole external code system, a filter, not published).
  Extensible and preferred value sets of more than ``MAX_SOFT_CODES`` codes are left out.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from fhir_gateway.validation.fhirpath import Unsupported, to_ast  # noqa: E402

HAND_CHECKED = {"ele-1", "ext-1", "dom-2", "dom-3", "dom-4", "dom-5", "dom-6", "txt-1", "txt-2"}
SYSTEM_TYPES = {
    "http://hl7.org/fhirpath/System.String": "string",
    "http://hl7.org/fhirpath/System.Boolean": "boolean",
    "http://hl7.org/fhirpath/System.Integer": "integer",
    "http://hl7.org/fhirpath/System.Decimal": "decimal",
    "http://hl7.org/fhirpath/System.Date": "date",
    "http://hl7.org/fhirpath/System.DateTime": "dateTime",
    "http://hl7.org/fhirpath/System.Time": "time",
}
FHIR_TYPE = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX = "http://hl7.org/fhir/StructureDefinition/regex"
QUANTITY_PROFILES = {
    "http://hl7.org/fhir/StructureDefinition/SimpleQuantity": "SimpleQuantity",
    "http://hl7.org/fhir/StructureDefinition/MoneyQuantity": "MoneyQuantity",
}
MAX_SOFT_CODES = 500


def _entries(folder: Path, name: str) -> list[dict]:
    return [entry["resource"] for entry in json.loads((folder / name).read_text(encoding="utf-8"))["entry"]]


def _type_code(element: dict, kind: dict, root: str) -> str:
    code = kind["code"]
    if code in SYSTEM_TYPES:
        fhir_type = next((x["valueUrl"] for x in kind.get("extension", []) if x["url"] == FHIR_TYPE), None)
        if element["path"] == f"{root}.id" and element.get("base", {}).get("path") == "Resource.id":
            return "id"  # Resource.id is an id (http://hl7.org/fhir/R4/resource.html#id)
        return fhir_type or SYSTEM_TYPES[code]
    if code == "Quantity":
        for profile in kind.get("profile", []):
            if profile in QUANTITY_PROFILES:
                return QUANTITY_PROFILES[profile]
    return code


def _targets(kinds: list[dict]) -> list[str] | None:
    names = []
    for kind in kinds:
        if kind["code"] != "Reference":
            continue
        for profile in kind.get("targetProfile", []):
            names.append(profile.rsplit("/", 1)[-1])
    if not names or "Resource" in names:
        return None
    return sorted(set(names))


def _structure(sd: dict, types: dict, problems: list) -> None:
    """Add ``sd``'s snapshot to ``types``: its own type, and one entry per backbone element."""
    elements = sd["snapshot"]["element"]
    root = elements[0]["path"]
    name = sd["id"] if sd["kind"] != "resource" else sd["type"]
    paths = {e["path"] for e in elements}
    has_children = {p.rsplit(".", 1)[0] for p in paths if "." in p}

    def key(path: str) -> str:
        return name + path[len(root) :]

    for element in elements:
        path = element["path"]
        own = path in has_children or path == root
        entry = types.setdefault(key(path), {"e": [], "c": []}) if own else None
        for constraint in element.get("constraint", []):
            if constraint["key"] in HAND_CHECKED:
                continue
            try:
                tree = to_ast(constraint["expression"])
            except Unsupported as error:
                tree = str(error)
                problems.append(f"{constraint['key']}: {error}")
            target = entry if own else types.setdefault(key(path.rsplit(".", 1)[0]), {"e": [], "c": []})
            target["c"].append(
                [
                    constraint["key"],
                    constraint["severity"],
                    constraint["human"],
                    tree,
                    None if own else path.rsplit(".", 1)[1].removesuffix("[x]"),
                ]
            )
        if path == root:
            continue
        parent = types.setdefault(key(path.rsplit(".", 1)[0]), {"e": [], "c": []})
        element_name = path.rsplit(".", 1)[1]
        if "contentReference" in element:
            kinds: str | list[str] = key(element["contentReference"].lstrip("#").replace(root, root, 1))
        elif path in has_children:
            kinds = key(path)
        else:
            codes = [_type_code(element, kind, root) for kind in element.get("type", [])]
            kinds = codes if element_name.endswith("[x]") else codes[0]
        maximum = element["max"]
        base_max = element.get("base", {}).get("max", maximum)
        row = [
            element_name,
            kinds,
            element["min"],
            -1 if maximum == "*" else int(maximum),
            0 if base_max in ("0", "1") else 1,
        ]
        binding = element.get("binding")
        tail: list = [None, None]
        if binding and binding.get("valueSet") and binding["strength"] in ("required", "extensible", "preferred"):
            tail[0] = [binding["strength"], binding["valueSet"].split("|")[0]]
        tail[1] = _targets(element.get("type", []))
        while tail and tail[-1] is None:
            tail.pop()
        parent["e"].append(row + tail)


def _concepts(concepts: list[dict]) -> list[tuple[str, list]]:
    out = []
    for concept in concepts:
        out.append((concept["code"], concept.get("concept", [])))
        out.extend(_concepts(concept.get("concept", [])))
    return out


def _descendants(code_system: dict, code: str, include_self: bool) -> set[str] | None:
    for found, children in _concepts(code_system.get("concept", [])):
        if found == code:
            codes = {c for c, _children in _concepts(children)}
            return codes | {code} if include_self else codes
    return None


def _expand(url: str, value_sets: dict, code_systems: dict, seen: frozenset = frozenset()) -> dict | str:
    """``{system: set(codes)}`` for ``url``, or a reason it cannot be expanded from the published definitions."""
    value_set = value_sets.get(url)
    if value_set is None:
        return f"value set {url} is not in the R4 definitions"
    if url in seen:
        return f"value set {url} includes itself"
    compose = value_set.get("compose") or {}
    result: dict[str, set[str]] = {}
    for part, sign in [(p, 1) for p in compose.get("include", [])] + [(p, -1) for p in compose.get("exclude", [])]:
        codes = _part(part, value_sets, code_systems, seen | {url})
        if isinstance(codes, str):
            return codes
        for system, values in codes.items():
            if sign > 0:
                result.setdefault(system, set()).update(values)
            else:
                result.get(system, set()).difference_update(values)
    return result


def _part(part: dict, value_sets: dict, code_systems: dict, seen: frozenset) -> dict | str:
    system = part.get("system")
    included: list[dict] = []
    for other in part.get("valueSet", []):
        expanded = _expand(other.split("|")[0], value_sets, code_systems, seen)
        if isinstance(expanded, str):
            return expanded
        included.append(expanded)
    if system is None:
        merged: dict[str, set[str]] = {}
        for expanded in included:  # the intersection of the included value sets
            for sys_, codes in expanded.items():
                merged[sys_] = (merged[sys_] & codes) if sys_ in merged else set(codes)
        return merged
    if "concept" in part:
        codes = {c["code"] for c in part["concept"]}
    else:
        code_system = code_systems.get(system)
        if code_system is None or code_system.get("content") != "complete":
            return f"code system {system} is not enumerated in the R4 definitions"
        codes = None
        for filter_ in part.get("filter", []):
            if filter_.get("property") == "concept" and filter_.get("op") in ("is-a", "descendent-of"):
                found = _descendants(code_system, filter_["value"], filter_["op"] == "is-a")
                if found is None:
                    return f"filter on unknown code {filter_['value']} of {system}"
                codes = found if codes is None else codes & found
            else:
                return f"filter {filter_.get('property')} {filter_.get('op')} on {system} needs a terminology server"
        if codes is None:
            codes = {c for c, _children in _concepts(code_system.get("concept", []))}
    for expanded in included:
        codes &= expanded.get(system, set())
    return {system: codes}


def main(folder: str) -> None:
    source = Path(folder)
    structures = [
        r
        for name in ("profiles-types.json", "profiles-resources.json")
        for r in _entries(source, name)
        if r["resourceType"] == "StructureDefinition" and r["kind"] != "logical"
    ]
    terminology = _entries(source, "valuesets.json")
    value_sets = {r["url"]: r for r in terminology if r["resourceType"] == "ValueSet"}
    code_systems = {r["url"]: r for r in terminology if r["resourceType"] == "CodeSystem"}
    types: dict[str, dict] = {}
    primitives: dict[str, str | None] = {}
    problems: list[str] = []
    resources = []
    for sd in structures:
        if sd["kind"] == "primitive-type":
            value = next(e for e in sd["snapshot"]["element"] if e["path"].endswith(".value"))
            regex = [x["valueString"] for x in value["type"][0].get("extension", []) if x["url"] == REGEX]
            primitives[sd["id"]] = regex[0] if regex else None
            continue
        if sd["kind"] == "resource" and not sd.get("abstract"):
            resources.append(sd["type"])
        _structure(sd, types, problems)
    bindings = {}
    for entry in types.values():
        for row in entry["e"]:
            if len(row) > 5 and row[5]:
                strength, url = row[5]
                bindings.setdefault(url, set()).add(strength)
    expanded = {}
    for url in sorted(bindings):
        result = _expand(url, value_sets, code_systems)
        if isinstance(result, str):
            expanded[url] = {"x": result}
            continue
        size = sum(len(codes) for codes in result.values())
        if "required" not in bindings[url] and size > MAX_SOFT_CODES:
            expanded[url] = {"x": f"{size} codes: left out of the tables"}
            continue
        expanded[url] = {"s": {system: sorted(codes) for system, codes in sorted(result.items())}}
    for entry in types.values():
        entry["e"].sort(key=lambda row: row[0])
    out = {
        "fhirVersion": "4.0.1",
        "resources": sorted(resources),
        "primitives": dict(sorted(primitives.items())),
        "types": dict(sorted(types.items())),
        "valueSets": expanded,
    }
    target = Path(__file__).with_name("r4.json")
    lines = ["{"]
    for position, (name, value) in enumerate(out.items()):
        comma = "," if position < len(out) - 1 else ""
        if isinstance(value, dict):
            lines.append(f"{json.dumps(name)}: {{")
            items = list(value.items())
            for i, (k, v) in enumerate(items):
                tail = "," if i < len(items) - 1 else ""
                lines.append(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False, separators=(',', ':'))}{tail}")
            lines.append("}" + comma)
        else:
            lines.append(f"{json.dumps(name)}: {json.dumps(value, separators=(',', ':'))}{comma}")
    lines.append("}")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(resources)} resource types, {len(types)} types, {len(expanded)} value sets written to {target}")
    for problem in problems:
        print(f"  not compiled: {problem}")


if __name__ == "__main__":
    main(sys.argv[1])
