from tests.fhir_gateway.search.conftest import ids


def test_a_patient_is_found_by_family_name_prefix(store):
    store.put({"resourceType": "Patient", "id": "p1", "name": [{"family": "王", "given": ["小明"]}]})
    store.put({"resourceType": "Patient", "id": "p2", "name": [{"family": "Smith", "given": ["Ann"]}]})

    assert ids("Patient", "name=王") == ["p1"]
    assert ids("Patient", "name=wangx") == ["p1"]
    assert ids("Patient", "name=smi") == ["p2"]
