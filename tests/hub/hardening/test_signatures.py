"""Signed opinions carry the author's Ed25519 signature over the canonical opinion; the public keys are published
and ``GET /api/signatures/opinions/<uid>`` tells a receiving site whether an opinion is authentic and unaltered."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.test import Client

from hub.referrals.models import Opinion
from hub.signatures.models import SigningKey
from tests.factories import with_signing_pin

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request) -> dict:
    """Dr Li's request, accepted and answered by Dr Zhang's signed opinion (over the referral API)."""
    li, zhang = api_for(dr_li_at_county_a), api_for(cardiologist_zhang)
    rid = li.post("", chest_pain_request).json()["id"]
    zhang.post(f"{rid}/receive")
    zhang.post(f"{rid}/accept")
    body = {
        "title": "会诊意见",
        "conclusion": "急性前壁心梗，建议立即转运行急诊PCI。",
        "pin": with_signing_pin(cardiologist_zhang),
    }
    done = zhang.post(f"{rid}/opinion", body)
    assert done.status_code == 201, done.json()
    return done.json()["opinions"][0]


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def test_a_signed_opinion_verifies_and_its_signature_checks_with_the_published_key(
    signed, token_for, dr_li_at_county_a, cardiologist_zhang
):
    client, headers = Client(), token_for(dr_li_at_county_a)
    assert signed["signature"].startswith("ed25519:")
    answer = client.get(f"/api/signatures/opinions/{signed['uid']}", **headers)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["valid"], body["reason"], body["algorithm"]) == (True, "valid", "Ed25519")
    assert body["signer"]["value"] == "cardiologist_zhang"
    assert body["payload"]["conclusion"] == "急性前壁心梗，建议立即转运行急诊PCI。"
    assert body["payload"]["opinion"] == signed["uid"]

    # The receiving site checks it without the hub's word: the published key over the canonical payload
    keys = client.get("/api/signatures/keys", {"practitioner": "cardiologist_zhang"}, **headers).json()
    assert keys["count"] == 1
    key = keys["results"][0]
    assert key["key"] == body["key"] and key["practitioner"]["value"] == "cardiologist_zhang"
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    public.verify(base64.b64decode(body["signature"]), canonical(body["payload"]))
    pem = load_pem_public_key(key["public_key_pem"].encode())
    pem.verify(base64.b64decode(body["signature"]), canonical(body["payload"]))
    with pytest.raises(InvalidSignature):
        public.verify(base64.b64decode(body["signature"]), canonical({**body["payload"], "conclusion": "观察"}))
    assert client.get(f"/api/signatures/keys/{key['key']}", **headers).json()["public_key"] == key["public_key"]


def test_an_altered_opinion_fails_verification(signed, token_for, dr_li_at_county_a):
    Opinion.objects.filter(uid=signed["uid"]).update(conclusion="无需转诊，门诊随访。")  # someone edits the row
    body = Client().get(f"/api/signatures/opinions/{signed['uid']}", **token_for(dr_li_at_county_a)).json()
    assert (body["valid"], body["reason"]) == (False, "altered")


def test_a_signature_moved_to_another_author_fails(signed, token_for, dr_li_at_county_a, neurologist_zhou):
    Opinion.objects.filter(uid=signed["uid"]).update(author=neurologist_zhou)
    body = Client().get(f"/api/signatures/opinions/{signed['uid']}", **token_for(dr_li_at_county_a)).json()
    assert (body["valid"], body["reason"]) == (False, "wrong-signer")


def test_an_opinion_signed_with_the_old_hmac_is_not_called_authentic(signed, token_for, dr_li_at_county_a):
    Opinion.objects.filter(uid=signed["uid"]).update(signature="ab" * 32)
    body = Client().get(f"/api/signatures/opinions/{signed['uid']}", **token_for(dr_li_at_county_a)).json()
    assert (body["valid"], body["reason"]) == (False, "not-signed")


def test_who_may_not_see_the_request_learns_nothing(signed, token_for, dr_zhao_at_county_b, official_wang):
    import uuid

    for user in (dr_zhao_at_county_b, official_wang):
        answer = Client().get(f"/api/signatures/opinions/{signed['uid']}", **token_for(user))
        missing = Client().get(f"/api/signatures/opinions/{uuid.uuid4()}", **token_for(user))
        assert answer.status_code == missing.status_code == 404
        assert answer.json() == missing.json()
    assert Client().get(f"/api/signatures/opinions/{signed['uid']}").status_code == 401


def test_the_private_key_is_stored_encrypted_and_useless_under_another_secret(signed, settings):
    from cryptography.hazmat.primitives import serialization

    from hub.signatures.keys import private_key_decrypt, public_key_of

    key = SigningKey.objects.get(user__username="cardiologist_zhang")
    private = private_key_decrypt(key)
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert (
        base64.b64encode(raw).decode() not in key.private_key_encrypted and raw.hex() not in key.private_key_encrypted
    )
    assert private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ) == public_key_of(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    settings.HUB_SIGNING_KEY_SECRET = "another-secret"
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        private_key_decrypt(key)


def test_the_delivered_composition_carries_the_signature_and_the_signed_payload(signed):
    from hub.referrals.services.delivery import opinion_for_site

    opinion = Opinion.objects.get(uid=signed["uid"])
    extensions = {e["url"]: e for e in opinion_for_site(opinion=opinion)["extension"]}
    assert extensions["urn:alliance-hub:signature"]["valueString"] == signed["signature"]
    payload = json.loads(base64.b64decode(extensions["urn:alliance-hub:signed-payload"]["valueBase64Binary"]))
    assert payload["conclusion"] == opinion.conclusion and payload["opinion"] == signed["uid"]


def test_the_signature_api_is_in_the_served_schema(client, token_for, dr_li_at_county_a):
    schema = client.get("/api/schema/?format=json", **token_for(dr_li_at_county_a)).json()
    paths = schema["paths"]
    for path in ("/api/signatures/keys", "/api/signatures/keys/{key_id}", "/api/signatures/opinions/{uid}"):
        assert set(paths[path]["get"]["responses"]) >= {"200", "401", "403", "405", "406"}, path
    assert "404" in paths["/api/signatures/opinions/{uid}"]["get"]["responses"]
