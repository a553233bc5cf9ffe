"""Write ``summary-elements.json``: each resource type's summary elements (run by hand).

The R4B models of ``fhir.resources`` carry the specification's ``isSummary`` flags; this script reads
them once so that the running gateway needs no model import for ``_summary=true``. A key is a resource
type (its top-level elements) or the path of one of its backbone elements (``Observation.component``: the
summary elements inside each component); data types (``HumanName``, ``Coding``...) are kept whole.

    .venv/bin/python fhir_gateway/search/data/copy_summary_elements.py
"""

import importlib
import json
import pkgutil
import typing
from pathlib import Path

import fhir.resources.R4B as r4b
from fhir.resources.R4B.backboneelement import BackboneElement


def _summary(fields) -> list[str]:
    return sorted(
        {
            (field.alias or key).split("__")[0]
            for key, field in fields.items()
            if (field.json_schema_extra or {}).get("summary_element_property")
        }
    )


def _backbone(module, field):
    """The backbone element class a field holds (``ObservationComponent``), or None."""
    for candidate in typing.get_args(field.annotation) or (field.annotation,):
        inner = typing.get_args(candidate) or (candidate,)
        for kind in inner:
            name = getattr(kind, "__name__", "").removesuffix("Type")
            cls = getattr(module, name, None)
            if isinstance(cls, type) and issubclass(cls, BackboneElement):
                return cls
    return None


def _walk(module, cls, path: str, out: dict[str, list[str]], depth: int = 0) -> None:
    out[path] = _summary(cls.model_fields)
    if depth >= 6:  # Questionnaire.item.item...: recursive backbone elements
        return
    for key, field in cls.model_fields.items():
        if key == "modifierExtension" or key.endswith("__ext"):
            continue
        backbone = _backbone(module, field)
        if backbone is not None:
            _walk(module, backbone, f"{path}.{field.alias or key}", out, depth + 1)


def main() -> None:
    out: dict[str, list[str]] = {}
    for module_info in pkgutil.iter_modules(r4b.__path__):
        module = importlib.import_module(f"fhir.resources.R4B.{module_info.name}")
        for value in vars(module).values():
            fields = getattr(value, "model_fields", None)
            name = getattr(value, "__resource_type__", None)
            if not fields or not name or value.__name__ != name or "implicitRules" not in fields:
                continue
            _walk(module, value, name, out)
    target = Path(__file__).with_name("summary-elements.json")
    target.write_text(json.dumps(out, indent=0, sort_keys=True) + "\n")
    print(f"{len(out)} types written to {target}")


if __name__ == "__main__":
    main()
