"""Master patient index benchmark: link a generated population over five sites and score it against the truth.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hub_bench .venv/bin/python bench/mpi.py --people 150000

Runs against a scratch database (it migrates it and empties the MPI tables). Sites A-D each hold a random
30% of the people; site E, linked last and timed on its own, holds 100,000 of them. Every copy of a person is
corrupted independently like real registrations: names only in pinyin, homophone characters, pinyin typos,
family and given names swapped, resident IDs missing or with two digits swapped (then invalid), birth-date
typos, new phones, moves. A share of people are namesakes of another (same name, birth date and gender).
Prints pairwise precision and recall of the automatic links, the reviews queued and records/s.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.base")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from federation.identity.features import patient_features  # noqa: E402
from federation.identity.matching import LinkItem, records_link  # noqa: E402
from federation.identity.models import MpiRecord  # noqa: E402
from federation.identity.scoring import MatchConfig  # noqa: E402
from federation.simulator.people import Person, patient_resource, person_generate  # noqa: E402

HOMOPHONES = dict(
    zip(
        "明伟静丽华军涛芳敏杰强勇平辉鹏飞宇浩凯健俊帆宁龙林玲婷颖欣",
        "鸣玮婧莉桦君韬方闵洁蔷永萍晖朋菲雨昊恺建峻凡凝隆琳铃亭莹馨",
        strict=True,
    )
)
DISTRICTS = [
    ("411321", "东川县"),
    ("411322", "西河县"),
    ("411323", "南山县"),
    ("411324", "北林县"),
    ("411325", "青石县"),
]


def namesake(rng: random.Random, person: Person) -> Person:
    region, district = rng.choice(DISTRICTS)
    other = person_generate(rng, region=region, district=district)
    seq = rng.randrange(0, 100) * 10 + rng.choice((1, 3, 5, 7, 9) if person.gender == "male" else (0, 2, 4, 6, 8))
    from federation.identity.resident_id import make

    return replace(
        other,
        family=person.family,
        given=person.given,
        gender=person.gender,
        birth_date=person.birth_date,
        resident_id=make(region, person.birth_date, seq),
    )


def corrupt(rng: random.Random, person: Person, mrn: str, site: str) -> dict:
    rid = person.resident_id
    roll = rng.random()
    if roll < 0.10:
        rid = ""
    elif roll < 0.15:
        i = rng.randrange(0, 16)
        while rid[i] == rid[i + 1]:
            i = rng.randrange(0, 16)
        rid = rid[:i] + rid[i + 1] + rid[i] + rid[i + 2 :]
    if rng.random() < 0.03 and person.given[-1] in HOMOPHONES:
        person = replace(person, given=person.given[:-1] + HOMOPHONES[person.given[-1]])
    if rng.random() < 0.02:
        person = replace(person, birth_date=person.birth_date + timedelta(days=rng.choice((1, -1, 10, -10))))
    roll = rng.random()
    if roll < 0.20:
        person = replace(person, phone=f"13{rng.randrange(0, 10**9):09d}")
    elif roll < 0.30:
        person = replace(person, phone="")
    if rng.random() < 0.10:
        person = replace(person, line=f"{rng.choice('东西南北中')}街{rng.randint(1, 300)}号")
    pinyin_only = rng.random() < 0.10
    patient = patient_resource(
        person, mrn_system=f"urn:site:{site}:mrn", mrn=mrn, resident_id=rid, pinyin_only=pinyin_only
    )
    latin = patient["name"][-1]
    if pinyin_only and rng.random() < 0.15:
        given = latin["given"][0]
        i = rng.randrange(0, len(given))
        latin["given"] = [given[:i] + rng.choice("aeiou") + given[i + 1 :]]
    elif pinyin_only and rng.random() < 0.15:
        latin["family"], latin["given"] = latin["given"][0], [latin["family"]]
    return patient


def pairs(counter: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in counter.values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=150_000)
    parser.add_argument("--new-site", type=int, default=100_000, help="people at site E, linked last and timed")
    parser.add_argument("--share", type=float, default=0.3, help="share of the people at each of sites A-D")
    parser.add_argument("--namesakes", type=float, default=0.02)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE federation_linkevent, federation_matchreview, federation_mpiblockkey, federation_mpirecord, federation_goldenrecord CASCADE"
        )

    started = time.perf_counter()
    people: list[Person] = []
    for _ in range(args.people):
        if people and rng.random() < args.namesakes:
            people.append(namesake(rng, rng.choice(people)))
        else:
            region, district = rng.choice(DISTRICTS)
            people.append(person_generate(rng, region=region, district=district))
    sites: dict[str, list[tuple[int, dict]]] = {}
    for site in "abcd":
        chosen = [i for i in range(args.people) if rng.random() < args.share]
        sites[site] = [(i, corrupt(rng, people[i], f"{site.upper()}{n:07d}", site)) for n, i in enumerate(chosen)]
    chosen = rng.sample(range(args.people), min(args.new_site, args.people))
    sites["e"] = [(i, corrupt(rng, people[i], f"E{n:07d}", "e")) for n, i in enumerate(chosen)]
    print(
        f"generated {args.people} people, {sum(len(v) for v in sites.values())} records in {time.perf_counter() - started:.1f}s"
    )

    truth: dict[str, int] = {}
    config = MatchConfig.from_settings()
    reviews = merged = 0
    for site, records in sites.items():
        t0 = time.perf_counter()
        for start in range(0, len(records), args.batch):
            items = []
            for person_index, patient in records[start : start + args.batch]:
                patient_id = f"{site}-{patient['identifier'][-1]['value']}"
                truth[patient_id] = person_index
                items.append(
                    LinkItem(site_code=f"county-{site}", patient_id=patient_id, features=patient_features(patient))
                )
            report = records_link(items=items, config=config)
            reviews += report.reviews
            merged += report.merged
        elapsed = time.perf_counter() - t0
        print(
            f"site {site.upper()}: linked {len(records)} records in {elapsed:.1f}s ({len(records) / elapsed:.0f} records/s)"
        )

    clusters = Counter()
    both = Counter()
    for patient_id, golden_id in MpiRecord.objects.values_list("patient_id", "golden_id").iterator(chunk_size=20000):
        clusters[golden_id] += 1
        both[(golden_id, truth[patient_id])] += 1
    persons = Counter(truth.values())
    true_positive, predicted, actual = pairs(both), pairs(clusters), pairs(persons)
    precision = true_positive / predicted if predicted else 1.0
    recall = true_positive / actual if actual else 1.0
    print(f"people at two or more sites: {sum(1 for n in persons.values() if n > 1)}; true pairs {actual}")
    print(
        f"auto-linked pairs {predicted}, correct {true_positive}; reviews queued {reviews}; golden records merged {merged}"
    )
    print(
        f"precision {precision:.4f}  recall {recall:.4f}  (thresholds auto {config.auto_link}, review {config.review})"
    )


if __name__ == "__main__":
    main()
