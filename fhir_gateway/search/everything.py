"""``Patient/[id]/$everything`` (http://hl7.org/fhir/R4/patient-operation-everything.html).

The patient, every resource that references it (its compartment, found through the reference
index) and, on the first page, the resources the patient itself references (practitioner,
organization). Paged by primary key, like a search.
"""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext as _

from fhir_gateway.errors import FhirError, NotFound
from fhir_gateway.search import bundle
from fhir_gateway.search.definitions import defined_types
from fhir_gateway.search.query import Page
from fhir_gateway.search.request import DEFAULT_COUNT, MAX_COUNT
from fhir_gateway.search.scope import Scope
from fhir_gateway.search.values.date import parse_range


def _options(params: list[tuple[str, str]]) -> tuple[int, list[str] | None, object, int]:
    count, types, since, after = DEFAULT_COUNT * 5, None, None, 0
    for name, value in params:
        if name == "_count":
            if not value.isdigit() or int(value) < 1:
                raise FhirError(400, _("_count must be a whole number above 0"), expression=["_count"])
            if int(value) > MAX_COUNT:
                raise FhirError(
                    400,
                    _("_count must be at most %(limit)s") % {"limit": MAX_COUNT},
                    code="too-costly",
                    expression=["_count"],
                )
            count = int(value)
        elif name == "_type":
            types = [item for item in value.split(",") if item]
            if any(item not in defined_types() for item in types):
                raise FhirError(
                    400, _("Unknown resource type in _type: %(value)s") % {"value": value}, expression=["_type"]
                )
        elif name == "_since":
            try:
                since = parse_range(value)[0]
            except ValueError:
                raise FhirError(400, _("Invalid _since: %(value)s") % {"value": value}, expression=["_since"]) from None
        elif name == "_cursor":
            if not value.isdigit():
                raise FhirError(400, _("Invalid paging cursor"), expression=["_cursor"])
            after = int(value)
    return count, types, since, after


def patient_everything(*, fhir_id: str, params: list[tuple[str, str]], scope: Scope, base_url: str) -> dict:
    """The caller has seen the Patient itself; every other record is filtered by its visibility in the SQL."""
    base_url = base_url.rstrip("/")
    count, types, since, after = _options(params)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT resource_id, owner FROM fhir_search_res WHERE rtype = 'Patient' AND fhir_id = %s", [fhir_id]
        )
        found = cursor.fetchone()
        if found is None or not scope.allows("Patient", found[1], fhir_id=fhir_id, pk=found[0]):
            raise NotFound(_("Patient/%(id)s is not known") % {"id": fhir_id})
        patient_pk = found[0]
        scope_sql, scope_args = scope.sql("s", None)
        sql = (
            "SELECT s.resource_id, s.rtype FROM fhir_search_res s "
            "WHERE (s.resource_id = %s OR s.resource_id IN "
            "(SELECT i.resource_id FROM fhir_search_reference i WHERE i.target_id = %s AND i.target_type = 'Patient'))"
            f" AND s.resource_id > %s{scope_sql}"
        )
        args: list = [patient_pk, fhir_id, after, *scope_args]
        if types:
            sql += " AND s.rtype = ANY(%s)"
            args.append(types)
        if since:
            sql += " AND s.last_updated >= %s"
            args.append(since)
        cursor.execute(sql + " ORDER BY s.resource_id LIMIT %s", [*args, count + 1])
        rows = cursor.fetchall()
        extra: list[int] = []
        if not after and (not types or "Patient" in types):
            target_sql, target_args = scope.sql("t", None)
            cursor.execute(
                "SELECT t.resource_id FROM fhir_search_reference i JOIN fhir_search_res t "
                f"ON t.rtype = i.target_type AND t.fhir_id = i.target_id WHERE i.resource_id = %s{target_sql}",
                [patient_pk, *target_args],
            )
            extra = [pk for (pk,) in cursor.fetchall()]
    more = len(rows) > count
    rows = rows[:count]
    contents = bundle.fetch([pk for pk, _ in rows] + extra)
    entries = [bundle.entry(base_url, contents[pk], "match") for pk, _ in rows if pk in contents]
    entries += [bundle.entry(base_url, contents[pk], "include") for pk in extra if pk in contents]
    page = Page([], str(rows[-1][0]) if more else None, None, None)
    used = [(name, value) for name, value in params if name in ("_count", "_type", "_since")]
    path = f"{base_url}/Patient/{fhir_id}/$everything"
    current = next((value for name, value in params if name == "_cursor"), None)
    return bundle.searchset(base_url=base_url, path=path, used=used, page=page, entries=entries, cursor=current)
