"""Write ``summary-elements.json``: each resource type's top-level summary elements (run by hand).

The R4B models of ``fhir.resources`` carry the specification's ``isSummary`` flags; this script reads
them once so that the running gateway needs no model import for ``_summary=true``.

    .venv/bin/python fhir_gateway/search/data/copy_summary_elements.py
"""

import importlib
import json
import pkgutil
from pathlib import Path

import fhir.resources.R4B as r4b


def main() -> None:
    out: dict[str, list[str]] = {}
    for module_info in pkgutil.iter_modules(r4b.__path__):
        module = importlib.import_module(f"fhir.resources.R4B.{module_info.name}")
        for value in vars(module).values():
            fields = getattr(value, "model_fields", None)
            name = getattr(value, "__resource_type__", None)
            if not fields or not name or value.__name__ != name or "implicitRules" not in fields:
                continue
            summary = [
                (field.alias or key).split("__")[0]
                for key, field in fields.items()
                if (field.json_schema_extra or {}).get("summary_element_property")
            ]
            out[name] = sorted(set(summary))
    target = Path(__file__).with_name("summary-elements.json")
    target.write_text(json.dumps(out, indent=0, sort_keys=True) + "\n")
    print(f"{len(out)} types written to {target}")


if __name__ == "__main__":
    main()
