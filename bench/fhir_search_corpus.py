"""Generate a realistic alliance FHIR corpus for the search benchmark and load it with COPY.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hub_bench_search \
        .venv/bin/python bench/fhir_search_corpus.py --patients 10000

10,000 patients give 1,000,000+ resources: per patient 8 encounters, 5 conditions and 86 observations
(8 vital-sign sets of 8, blood pressure with systolic/diastolic components, and 22 laboratory results),
over five member sites that own them, plus the sites' organizations, locations and 200 practitioners.
Names are Chinese (searchable by characters and pinyin). The database is migrated and its FHIR and
search tables emptied first; resource rows, version rows and index rows are written with COPY, the
index rows by the gateway's own extractor (``fhir_gateway.search.indexer``). Deterministic (seeded).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.base")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from fhir_gateway.search.indexer import IndexRow, build_rows, copy_rows  # noqa: E402

SITES = ["general", "county-a", "county-b", "county-c", "county-d"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉萍海燕晓东文辉鹏飞宇浩凯健俊帆宁龙林玲婷颖欣"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
VITALS = [  # code, display, unit, mean, spread
    ("8867-4", "Heart rate", "/min", 76, 12),
    ("9279-1", "Respiratory rate", "/min", 16, 3),
    ("8310-5", "Body temperature", "Cel", 36.8, 0.4),
    ("29463-7", "Body weight", "kg", 66, 12),
    ("8302-2", "Body height", "cm", 165, 9),
    ("39156-5", "Body mass index", "kg/m2", 24, 3.5),
    ("59408-5", "Oxygen saturation", "%", 97, 1.5),
]
LABS = [
    ("15074-8", "Glucose [Moles/volume] in Blood", "mmol/L", 6.2, 1.8),
    ("4548-4", "Hemoglobin A1c", "%", 6.1, 1.1),
    ("2160-0", "Creatinine [Mass/volume] in Serum", "umol/L", 80, 20),
    ("2093-3", "Cholesterol [Moles/volume] in Serum", "mmol/L", 4.9, 0.9),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/L", 135, 15),
    ("6690-2", "Leukocytes [#/volume] in Blood", "10*9/L", 6.5, 1.8),
]
CONDITIONS = [
    ("38341003", "高血压"),
    ("44054006", "2型糖尿病"),
    ("53741008", "冠状动脉粥样硬化性心脏病"),
    ("13645005", "慢性阻塞性肺疾病"),
    ("195967001", "哮喘"),
    ("230690007", "脑卒中"),
    ("40055000", "慢性鼻窦炎"),
    ("709044004", "慢性肾脏病"),
    ("68566005", "尿路感染"),
    ("10509002", "急性支气管炎"),
    ("84757009", "癫痫"),
    ("35489007", "抑郁症"),
]
START = datetime(2019, 1, 1, tzinfo=UTC)
SPAN_DAYS = 7 * 365


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


class Corpus:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def directory(self) -> list[tuple[str, dict, str]]:
        out = []
        for site in SITES:
            out.append(
                (
                    "Organization",
                    {
                        "id": f"org-{site}",
                        "active": True,
                        "name": f"{site} hospital",
                        "identifier": [{"system": "urn:alliance:site", "value": site}],
                    },
                    site,
                )
            )
            for ward in range(4):
                out.append(
                    (
                        "Location",
                        {
                            "id": f"loc-{site}-{ward}",
                            "status": "active",
                            "name": f"{site} ward {ward}",
                            "managingOrganization": {"reference": f"Organization/org-{site}"},
                        },
                        site,
                    )
                )
        for number in range(200):
            site = SITES[number % len(SITES)]
            name = {"family": SURNAMES[number % len(SURNAMES)], "given": [GIVEN[number % len(GIVEN)] + "医生"]}
            out.append(
                (
                    "Practitioner",
                    {
                        "id": f"pr-{number}",
                        "active": True,
                        "name": [name],
                        "identifier": [{"system": "urn:alliance:practitioner", "value": f"P{number:05d}"}],
                    },
                    site,
                )
            )
        return out

    def patient(self, number: int) -> list[tuple[str, dict, str]]:
        rng = self.rng
        site = SITES[number % len(SITES)]
        pid = f"pat-{number}"
        family = rng.choice(SURNAMES)
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        gender = rng.choice(("male", "female"))
        birth = START - timedelta(days=rng.randrange(18 * 365, 90 * 365))
        out = [
            (
                "Patient",
                {
                    "id": pid,
                    "active": True,
                    "gender": gender,
                    "birthDate": birth.date().isoformat(),
                    "name": [{"use": "official", "family": family, "given": [given], "text": family + given}],
                    "identifier": [
                        {"system": "urn:alliance:resident-id", "value": f"4113{number:014d}"},
                        {"system": f"urn:alliance:site:{site}:mrn", "value": f"MRN{number:07d}"},
                    ],
                    "telecom": [{"system": "phone", "value": f"138{number:08d}"}],
                    "address": [{"city": "示范市", "district": f"{site}", "line": [f"{rng.randrange(1, 300)}号"]}],
                    "managingOrganization": {"reference": f"Organization/org-{site}"},
                },
                site,
            )
        ]
        subject = {"reference": f"Patient/{pid}"}
        for index, (code, display) in enumerate(rng.sample(CONDITIONS, 5)):
            onset = START + timedelta(days=rng.randrange(SPAN_DAYS))
            out.append(
                (
                    "Condition",
                    {
                        "id": f"cond-{number}-{index}",
                        "subject": subject,
                        "clinicalStatus": {
                            "coding": [
                                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
                            ]
                        },
                        "category": [
                            {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                        "code": "problem-list-item",
                                    }
                                ]
                            }
                        ],
                        "code": {"coding": [{"system": SNOMED, "code": code}], "text": display},
                        "onsetDateTime": iso(onset),
                        "recordedDate": iso(onset),
                    },
                    site,
                )
            )
        visits = sorted(
            START + timedelta(days=rng.randrange(SPAN_DAYS), minutes=rng.randrange(480, 1020)) for _ in range(8)
        )
        labs = [LABS[i % len(LABS)] for i in range(22)]
        for visit_number, when in enumerate(visits):
            eid = f"enc-{number}-{visit_number}"
            practitioner = f"Practitioner/pr-{rng.randrange(200)}"
            inpatient = rng.random() < 0.1
            end = when + (timedelta(days=rng.randrange(2, 10)) if inpatient else timedelta(minutes=30))
            out.append(
                (
                    "Encounter",
                    {
                        "id": eid,
                        "status": "finished",
                        "subject": subject,
                        "class": {
                            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                            "code": "IMP" if inpatient else "AMB",
                        },
                        "type": [
                            {"coding": [{"system": SNOMED, "code": "185349003" if not inpatient else "32485007"}]}
                        ],
                        "period": {"start": iso(when), "end": iso(end)},
                        "participant": [{"individual": {"reference": practitioner}}],
                        "serviceProvider": {"reference": f"Organization/org-{site}"},
                        "location": [{"location": {"reference": f"Location/loc-{site}-{rng.randrange(4)}"}}],
                    },
                    site,
                )
            )
            encounter = {"reference": f"Encounter/{eid}"}
            base = {
                "status": "final",
                "subject": subject,
                "encounter": encounter,
                "effectiveDateTime": iso(when),
                "issued": iso(when + timedelta(hours=1)),
                "performer": [{"reference": practitioner}],
            }
            vital_category = [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                    ]
                }
            ]
            out.append(
                (
                    "Observation",
                    {
                        **base,
                        "id": f"obs-{number}-{visit_number}-bp",
                        "category": vital_category,
                        "code": {"coding": [{"system": LOINC, "code": "85354-9", "display": "Blood pressure panel"}]},
                        "component": [
                            self._component("8480-6", "Systolic blood pressure", rng.gauss(128, 16)),
                            self._component("8462-4", "Diastolic blood pressure", rng.gauss(80, 10)),
                        ],
                    },
                    site,
                )
            )
            for code, display, unit, mean, spread in VITALS:
                out.append(
                    (
                        "Observation",
                        {
                            **base,
                            "id": f"obs-{number}-{visit_number}-{code}",
                            "category": vital_category,
                            "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
                            "valueQuantity": self._quantity(rng.gauss(mean, spread), unit),
                        },
                        site,
                    )
                )
            lab_category = [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}
                    ]
                }
            ]
            for lab_number in range(visit_number, len(labs), 8):
                code, display, unit, mean, spread = labs[lab_number]
                out.append(
                    (
                        "Observation",
                        {
                            **base,
                            "id": f"obs-{number}-{visit_number}-lab{lab_number}",
                            "category": lab_category,
                            "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
                            "valueQuantity": self._quantity(rng.gauss(mean, spread), unit),
                        },
                        site,
                    )
                )
        return out

    @staticmethod
    def _quantity(value: float, unit: str) -> dict:
        return {"value": round(value, 1), "unit": unit, "system": UCUM, "code": unit}

    def _component(self, code: str, display: str, value: float) -> dict:
        return {
            "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
            "valueQuantity": self._quantity(value, "mm[Hg]"),
        }


def empty_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE 'fhir_search_%%' OR tablename LIKE 'fhir_gateway_%%'"
        )
        tables = [row[0] for row in cursor.fetchall() if row[0] != "fhir_search_reindex_state"]
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")


def load(batch: list[tuple[str, dict, str]], next_pk: int, now: datetime) -> int:
    stamp = iso(now)
    resources, versions, index_rows = [], [], []
    for offset, (kind, content, owner) in enumerate(batch):
        pk = next_pk + offset
        content = {"resourceType": kind, **content, "meta": {"versionId": "1", "lastUpdated": stamp}}
        text = orjson.dumps(content).decode()
        resources.append((pk, kind, content["id"], 1, stamp, False, text, "", owner))
        versions.append((pk, kind, content["id"], 1, stamp, "PUT", False, text, "", owner, "sync", "bench", "bench"))
        index_rows.append(IndexRow(pk, kind, content))
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            "COPY fhir_gateway_resource (id, resource_type, fhir_id, version_id, last_updated, deleted, "
            "content, source, owner) FROM STDIN"
        ) as copy:
            for row in resources:
                copy.write_row(row)
        with raw.copy(
            "COPY fhir_gateway_resourceversion (resource_id, resource_type, fhir_id, version_id, last_updated,"
            " method, deleted, content, source, owner, actor_kind, actor_id, actor_display) FROM STDIN"
        ) as copy:
            for row in versions:
                copy.write_row(row)
        cursor.execute(
            "INSERT INTO fhir_search_res (resource_id, rtype, fhir_id, owner, last_updated) "
            "SELECT id, resource_type, fhir_id, owner, last_updated FROM fhir_gateway_resource WHERE id >= %s AND id < %s",
            [next_pk, next_pk + len(batch)],
        )
        copy_rows(raw, build_rows(index_rows))
    return next_pk + len(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--batch-patients", type=int, default=100)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    empty_tables()
    corpus = Corpus(args.seed)
    started = time.perf_counter()
    next_pk = load(corpus.directory(), 1, corpus.now)
    for first in range(0, args.patients, args.batch_patients):
        batch = [
            item
            for number in range(first, min(first + args.batch_patients, args.patients))
            for item in corpus.patient(number)
        ]
        next_pk = load(batch, next_pk, corpus.now)
        done = next_pk - 1
        if (first // args.batch_patients) % 10 == 0:
            rate = done / (time.perf_counter() - started)
            print(f"{done:>9,} resources  {rate:,.0f}/s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('fhir_gateway_resource', 'id'), %s)", [next_pk])
    connection.close()
    with connection.cursor() as cursor:  # autocommit: VACUUM fills the visibility map for index-only counts
        cursor.execute("VACUUM ANALYZE")
    elapsed = time.perf_counter() - started
    print(f"loaded {next_pk - 1:,} resources in {elapsed:.0f} s ({(next_pk - 1) / elapsed:,.0f}/s)")


if __name__ == "__main__":
    main()
