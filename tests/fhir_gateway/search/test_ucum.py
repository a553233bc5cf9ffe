"""Quantity search with UCUM unit conversion, over HTTP (http://hl7.org/fhir/R4/search.html#quantity).

The expected matches come from conversions stated in UCUM's own tables (https://ucum.org/ucum), written
out by hand below, not from the gateway's canonicaliser.
"""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection

from fhir_gateway.search import ucum
from tests.fhir_gateway.search.samples import LOINC, UCUM, blood_pressure, observation

pytestmark = pytest.mark.django_db
OTHER_UNITS = "http://example.org/lab-units"


@pytest.fixture
def records(store):
    store.put(observation("glucose-mgdl", "Patient/wang", "2339-0", 97.3, "mg/dL", when="2024-05-01"))
    store.put(observation("glucose-mmol", "Patient/wang", "15074-8", 5.4, "mmol/L", when="2024-05-01"))
    store.put(observation("glucose-umol", "Patient/wang", "15074-8", 5400, "umol/L", when="2024-05-01"))
    store.put(observation("dose", "Patient/wang", "3141-9", 150, "mg", when="2024-05-01"))
    store.put(observation("temp-c", "Patient/wang", "8310-5", 37, "Cel", when="2024-05-01"))
    store.put(observation("temp-f", "Patient/wang", "8310-5", 98.6, "[degF]", when="2024-05-01"))
    store.put(observation("pulse", "Patient/wang", "8867-4", 72, "{beats}/min", when="2024-05-01"))
    store.put(observation("wbc", "Patient/wang", "6690-2", 6.5, "10*3/uL", when="2024-05-01"))
    store.put(observation("bmi", "Patient/wang", "39156-5", 24.2, "kg/m2", when="2024-05-01"))
    local = observation("local", "Patient/wang", "15074-8", 5.4, "mmol/L", when="2024-05-01")
    local["valueQuantity"]["system"] = OTHER_UNITS
    store.put(local)
    odd = observation("odd-unit", "Patient/wang", "15074-8", 5.4, "mmol/L", when="2024-05-01")
    odd["valueQuantity"]["code"] = "mmol/Lx"  # not a UCUM code: only found by that exact code
    store.put(odd)
    store.put(blood_pressure("bp", "Patient/wang", 120, 80, when="2024-05-01"))
    return store


def _ids(fhir, query: str) -> list[str]:
    response = fhir.get("/fhir/Observation?" + query)
    assert response.status_code == 200, response.content
    return sorted(e["resource"]["id"] for e in response.json().get("entry", []) if e["search"]["mode"] == "match")


def _q(value: str, unit: str, system: str = UCUM) -> str:
    return "value-quantity=" + quote(f"{value}|{system}|{unit}")


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("5.4", "mmol/L", ["glucose-mmol", "glucose-umol"]),  # never 97.3 mg/dL: another dimension
        ("5400", "umol/L", ["glucose-mmol", "glucose-umol"]),
        ("5.4", "mol/m3", ["glucose-mmol", "glucose-umol"]),  # 1 mmol/L = 1 mol/m3
        ("0.973", "g/L", ["glucose-mgdl"]),  # 97.3 mg/dL = 0.973 g/L
        ("973", "mg/L", ["glucose-mgdl"]),
        ("gt0.1", "g", ["dose"]),  # 150 mg
        ("lt0.1", "g", []),
        ("0.15", "g", ["dose"]),
        ("150000", "ug", ["dose"]),
        ("37", "Cel", ["temp-c", "temp-f"]),  # 98.6 [degF] = 37 Cel
        ("310.15", "K", ["temp-c", "temp-f"]),
        ("98.6", "[degF]", ["temp-c", "temp-f"]),
        ("gt100", "[degF]", []),
        ("1.2", "/s", ["pulse"]),  # 72 /min
        ("72", "/min", ["pulse"]),
        ("4320", "/h", ["pulse"]),
        ("6.5", "10*9/L", ["wbc"]),  # 10*3/uL = 10*9/L
        ("6500", "/uL", ["wbc"]),
        ("24.2", "kg/m2", ["bmi"]),
        ("2.42", "g/cm2", ["bmi"]),  # 1 kg/m2 = 0.1 g/cm2
        ("ap5", "mmol/L", ["glucose-mmol", "glucose-umol"]),
        ("ne5.4", "mmol/L", []),
        ("5.4", "mmol/Lx", ["odd-unit"]),  # an unknown unit: its exact code
    ],
)
def test_ucum_quantities_are_compared_in_canonical_units(fhir, records, value, unit, expected):
    assert _ids(fhir, _q(value, unit)) == expected


@pytest.mark.parametrize("system", [UCUM, OTHER_UNITS])
def test_a_non_ucum_or_unitless_search_is_unchanged(fhir, records, system):
    assert _ids(fhir, _q("5.4", "mmol/L", OTHER_UNITS)) == ["local"]  # system and code as written
    assert _ids(fhir, "value-quantity=5.4") == ["glucose-mmol", "local", "odd-unit"]
    # no system: the code or the unit text (odd-unit's text is "mmol/L")
    assert _ids(fhir, "value-quantity=" + quote("5.4||mmol/L")) == ["glucose-mmol", "local", "odd-unit"]
    assert _ids(fhir, "value-quantity=" + quote(f"5.4|{system}|")) == (
        ["glucose-mmol", "odd-unit"] if system == UCUM else ["local"]
    )


def test_composites_compare_in_canonical_units(fhir, records):
    assert _ids(fhir, "code-value-quantity=" + quote(f"{LOINC}|2339-0$gt0.5|{UCUM}|g/L")) == ["glucose-mgdl"]
    assert _ids(fhir, "code-value-quantity=" + quote(f"{LOINC}|2339-0$gt1|{UCUM}|g/L")) == []
    assert _ids(fhir, "code-value-quantity=" + quote(f"{LOINC}|15074-8$5.4|{UCUM}|mmol/L")) == [
        "glucose-mmol",
        "glucose-umol",
    ]
    # 120 mm[Hg] = 15.999 kPa (1 mm[Hg] = 133.322 Pa)
    systolic = f"{LOINC}|8480-6$ge15.9|{UCUM}|kPa"
    assert _ids(fhir, "component-code-value-quantity=" + quote(systolic)) == ["bp"]
    assert _ids(fhir, "component-code-value-quantity=" + quote(f"{LOINC}|8480-6$ge16.1|{UCUM}|kPa")) == []


def test_the_reindex_command_fills_the_canonical_values(fhir, records):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE fhir_search_quantity SET canon_value = NULL, canon_unit = NULL")
        cursor.execute("UPDATE fhir_search_composite SET c2_canon_num = NULL, c2_canon_unit = NULL")
    assert _ids(fhir, _q("gt0.1", "g")) == []

    call_command("fhir_reindex", "--restart", stdout=StringIO())

    assert _ids(fhir, _q("gt0.1", "g")) == ["dose"]
    assert _ids(fhir, "code-value-quantity=" + quote(f"{LOINC}|2339-0$gt0.5|{UCUM}|g/L")) == ["glucose-mgdl"]


@pytest.mark.parametrize("value", [f"abc|{UCUM}|mg", f"5|{UCUM}", f"xx5|{UCUM}|mg", f"5|{UCUM}|mg|x"])
def test_bad_quantities_are_a_400_naming_the_parameter(fhir, records, value):
    response = fhir.get("/fhir/Observation?value-quantity=" + quote(value))
    assert response.status_code == 400, response.content
    assert response.json()["issue"][0]["expression"] == ["value-quantity"]


@pytest.mark.parametrize(
    "value",
    [
        f"1e400|{UCUM}|mg",
        f"5|{UCUM}|10*999999999/L",
        f"5|{UCUM}|10*-999999999/L",
        f"5|{UCUM}|m99999",
        f"ap0|{UCUM}|Cel",
    ],
)
def test_extreme_values_and_units_never_fail(fhir, records, value):
    response = fhir.get("/fhir/Observation?value-quantity=" + quote(value))
    assert response.status_code == 200, response.content


# Conversions from UCUM's tables: (value, unit, value, unit) that are equal.
EQUAL = [
    ("1", "mm[Hg]", "133.322", "Pa"),
    ("1", "cm[H2O]", "98.0665", "Pa"),
    ("1", "L", "1000", "cm3"),
    ("1", "[lb_av]", "453.59237", "g"),
    ("1", "[in_i]", "2.54", "cm"),
    ("1", "wk", "10080", "min"),
    ("1", "a", "365.25", "d"),
    ("1", "U", "16.666666666666666666", "nmol/s"),
    ("1", "%", "10", "[ppth]"),
    ("1", "kcal", "4184", "J"),
    ("0", "Cel", "32", "[degF]"),
    ("1", "meq/L", "1", "mmol/L"),
    ("1", "m[IU]/mL", "1", "[iU]/L"),
    ("1", "mL/min/{1.73_m2}", "1", "mL/min"),
]
DIFFERENT = [("mmol/L", "mg/dL"), ("g", "L"), ("Cel", "s"), ("[iU]", "mol"), ("%", "mg"), ("/min", "min")]


@pytest.mark.parametrize(("a", "unit_a", "b", "unit_b"), EQUAL)
def test_the_canonicaliser_agrees_with_the_ucum_tables(a, unit_a, b, unit_b):
    one, two = ucum.canonical(Decimal(a), unit_a), ucum.canonical(Decimal(b), unit_b)
    assert one is not None and two is not None
    assert one[1] == two[1]
    assert one[0] == pytest.approx(two[0], rel=1e-9)


@pytest.mark.parametrize(("unit_a", "unit_b"), DIFFERENT)
def test_units_of_different_dimensions_are_never_comparable(unit_a, unit_b):
    assert ucum.parse(unit_a).canonical != ucum.parse(unit_b).canonical


@pytest.mark.parametrize("code", ["", "foo", "Cel/h", "m(", "mg)", "10*", "(mL/min)/1.73m2", "x" * 200, "kg..m"])
def test_codes_it_does_not_know_are_unknown(code):
    assert ucum.parse(code) is None
