"""Each parameter type with its prefixes and modifiers, on hand-written records (http://hl7.org/fhir/R4/search.html)."""

from __future__ import annotations

import pytest

from tests.fhir_gateway.search.conftest import ids
from tests.fhir_gateway.search.samples import LOINC, MRN, UCUM, blood_pressure, encounter, observation, patient


@pytest.fixture
def records(store):
    store.put(patient("wang", "王", "小明", gender="male", active=True))
    store.put(patient("zoe", "Zoë", "Anne", birth="1990-07-15", active=False))
    store.put(patient("li", "李", "芳", birth="1968-03", telecom=[{"system": "phone", "value": "13800000001"}]))
    store.put(observation("glucose", "Patient/wang", "15074-8", 7.2, "mmol/L", when="2024-05-01T08:30:00+08:00"))
    store.put(observation("glucose-low", "Patient/zoe", "15074-8", 4.1, "mmol/L", when="2023-01-10"))
    store.put(blood_pressure("bp", "Patient/wang", 150, 95, when="2024-05-01T08:35:00+08:00"))
    store.put(encounter("visit", "Patient/wang", "2024-05-01T08:00:00+08:00", "2024-05-03T10:00:00+08:00"))
    store.put(encounter("open", "Patient/li", "2024-06-01T08:00:00Z"))
    return store


class TestToken:
    def test_system_and_code_code_alone_and_system_alone(self, records):
        assert ids("Observation", f"code={LOINC}|15074-8") == ["glucose", "glucose-low"]
        assert ids("Observation", "code=15074-8") == ["glucose", "glucose-low"]
        assert ids("Observation", f"code={LOINC}|") == ["glucose", "glucose-low", "bp"]
        assert ids("Observation", "code=|15074-8") == []

    def test_identifier_booleans_and_codes(self, records):
        assert ids("Patient", f"identifier={MRN}|MRN-zoe") == ["zoe"]
        assert ids("Patient", "active=true") == ["wang"]
        assert ids("Patient", "gender=male,female") == ["wang", "zoe", "li"]
        assert ids("Patient", "phone=13800000001") == ["li"]

    def test_not_text_and_of_type(self, records):
        assert ids("Patient", "gender:not=male") == ["zoe", "li"]
        assert ids("Observation", "code:text=lab 150") == ["glucose", "glucose-low"]
        assert ids("Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|MRN-li") == ["li"]

    def test_subsumption_needs_terminology_and_is_refused(self, records):
        with pytest.raises(Exception, match="not supported"):
            ids("Observation", "code:below=http://loinc.org|15074-8")


class TestString:
    def test_prefix_ignores_case_and_accents(self, records):
        assert ids("Patient", "family=zo") == ["zoe"]
        assert ids("Patient", "name=ZOE") == ["zoe"]
        assert ids("Patient", "given=ann") == ["zoe"]

    def test_exact_and_contains(self, records):
        assert ids("Patient", "family:exact=Zoë") == ["zoe"]
        assert ids("Patient", "family:exact=zoe") == []
        assert ids("Patient", "name:contains=nn") == ["zoe"]

    def test_chinese_names_by_characters_and_by_pinyin(self, records):
        assert ids("Patient", "name=王") == ["wang"]
        assert ids("Patient", "name=王小") == ["wang"]
        assert ids("Patient", "name=wangxiao") == ["wang"]
        assert ids("Patient", "name=Wang Xiao") == ["wang"]
        assert ids("Patient", "name=wxm") == ["wang"]
        assert ids("Patient", "family=li") == ["li"]


class TestDate:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("1968", ["wang", "li"]),
            ("1968-03", ["wang", "li"]),
            ("1968-03-02", ["wang"]),
            ("eq1968-03-02", ["wang"]),
            ("ne1968-03-02", ["zoe", "li"]),
            ("gt1968-03-01", ["wang", "zoe", "li"]),
            ("gt1968-03-31", ["zoe"]),
            ("lt1968-03-02", ["li"]),
            ("ge1968-03-02", ["wang", "zoe", "li"]),
            ("le1968-03-02", ["wang", "li"]),
            ("sa1968-03-31", ["zoe"]),
            ("eb1968-03-02", []),
            ("eb1990-01-01", ["wang", "li"]),
            ("ap1968-03-10", ["wang", "li"]),
        ],
    )
    def test_prefixes_compare_ranges_by_precision(self, records, value, expected):
        assert ids("Patient", f"birthdate={value}") == expected

    def test_a_period_and_an_open_period(self, records):
        assert ids("Encounter", "date=2024-05-02") == []  # the stay is longer than the day
        assert ids("Encounter", "date=ge2024-05-02&date=lt2024-05-03") == ["visit"]  # it overlaps the day
        assert ids("Encounter", "date=ge2024-05-04&date=lt2024-05-31") == []
        assert ids("Encounter", "date=ge2025&date=lt2020") == []  # an empty range
        assert ids("Encounter", "date=ge2024-05-01&date=le2024-05-31") == ["visit"]
        assert ids("Encounter", "date=gt2030-01-01") == ["open"]  # no end: still going
        assert ids("Encounter", "date=sa2024-05-31") == ["open"]

    def test_time_zones_and_minutes(self, records):
        assert ids("Observation", "date=2024-05-01T00:30:00Z") == ["glucose"]
        assert ids("Observation", "date=ge2024-05-01T00:31:00Z&date=lt2024-05-01T00:36:00Z") == ["bp"]


class TestQuantityAndNumber:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("7.2", ["glucose"]),
            (f"7.2|{UCUM}|mmol/L", ["glucose"]),
            ("7.2||mmol/L", ["glucose"]),
            (f"7.2|{UCUM}|mg", []),
            ("gt7", ["glucose"]),
            ("lt7", ["glucose-low"]),
            ("ge7.2", ["glucose"]),
            ("le4.1", ["glucose-low"]),
            ("ne7.2", ["glucose-low"]),
            ("ap7", ["glucose"]),
            ("sa4.1", ["glucose"]),
            ("eb7.2", ["glucose-low"]),
            ("7", ["glucose"]),  # 7 means [6.5, 7.5)
        ],
    )
    def test_prefixes_and_units(self, records, value, expected):
        assert ids("Observation", f"value-quantity={value}") == expected

    def test_a_number_parameter(self, store):
        for fhir_id, chance in (("low", 0.1), ("high", 0.8)):
            store.put(
                {
                    "resourceType": "RiskAssessment",
                    "id": fhir_id,
                    "status": "final",
                    "subject": {"reference": "Patient/x"},
                    "prediction": [{"probabilityDecimal": chance}],
                }
            )
        assert ids("RiskAssessment", "probability=gt0.5") == ["high"]
        assert ids("RiskAssessment", "probability=0.1") == ["low"]


class TestReference:
    def test_type_and_id_id_alone_type_modifier_and_own_absolute_url(self, records):
        assert ids("Observation", "subject=Patient/zoe") == ["glucose-low"]
        assert ids("Observation", "subject=zoe") == ["glucose-low"]
        assert ids("Observation", "subject:Patient=zoe") == ["glucose-low"]
        assert ids("Observation", "patient=http://testserver/fhir/Patient/zoe") == ["glucose-low"]
        assert ids("Observation", "subject:Device=zoe") == []

    def test_identifier_modifier(self, store):
        store.put(
            {
                "resourceType": "Observation",
                "id": "o1",
                "status": "final",
                "code": {"text": "x"},
                "subject": {"identifier": {"system": MRN, "value": "A9"}},
            }
        )
        assert ids("Observation", f"subject:identifier={MRN}|A9") == ["o1"]


class TestCompositeUriMissingAndCommon:
    def test_composites_pair_values_in_one_component(self, records):
        assert ids("Observation", f"code-value-quantity={LOINC}|15074-8$gt7") == ["glucose"]
        assert ids("Observation", f"component-code-value-quantity={LOINC}|8480-6$gt140") == ["bp"]
        assert ids("Observation", f"component-code-value-quantity={LOINC}|8462-4$gt140") == []
        assert ids("Observation", f"combo-code-value-quantity={LOINC}|8462-4$95") == ["bp"]

    def test_uri_above_and_below(self, store):
        profile = "http://alliance.example/fhir/StructureDefinition/patient-cn"
        store.put({**patient("p1", "赵", "敏"), "meta": {"profile": [profile]}})
        assert ids("Patient", f"_profile={profile}") == ["p1"]
        assert ids("Patient", "_profile:below=http://alliance.example/fhir/") == ["p1"]
        assert ids("Patient", f"_profile:above={profile}/v2") == ["p1"]
        assert ids("Patient", "_profile:below=http://other.example/") == []

    def test_missing(self, records):
        assert ids("Patient", "telecom:missing=true") == ["wang", "zoe"]
        assert ids("Patient", "telecom:missing=false") == ["li"]

    def test_id_last_updated_tag_and_narrative(self, store):
        store.put(
            {
                **patient("p1", "钱", "伟"),
                "meta": {"tag": [{"system": "urn:alliance:tag", "code": "vip"}]},
                "text": {
                    "status": "generated",
                    "div": '<div xmlns="http://www.w3.org/1999/xhtml">Referred by 李医生</div>',
                },
            }
        )
        store.put(patient("p2", "孙", "丽"))
        assert ids("Patient", "_id=p2,p9") == ["p2"]
        assert ids("Patient", "_lastUpdated=gt2020-01-01") == ["p1", "p2"]
        assert ids("Patient", "_lastUpdated=lt2020-01-01") == []
        assert ids("Patient", "_tag=urn:alliance:tag|vip") == ["p1"]
        assert ids("Patient", "_text=李医生") == ["p1"]


def test_list_finds_the_resources_a_list_names(records):
    records.put(
        {
            "resourceType": "List",
            "id": "ward-round",
            "status": "current",
            "mode": "working",
            "entry": [{"item": {"reference": "Patient/zoe"}}, {"item": {"reference": "Patient/li"}}],
        }
    )
    assert ids("Patient", "_list=ward-round") == ["zoe", "li"]
    assert ids("Patient", "_list=ward-round&gender=male") == []
    assert ids("Patient", "_list=nothing") == []
