"""Synthetic people with realistic Chinese names, phones and valid resident IDs.

Deterministic for a given seed, so the demo and tests see the same people.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from pypinyin import Style, lazy_pinyin

from federation.identity.resident_id import RESIDENT_ID_SYSTEM, make

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国建华志强志明海峰文博子轩浩然"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英华慧巧美娅玲桂兰萍红玉梅琳雪婷颖佳琪欣怡雨涵梓萱诗涵思彤晓燕"
PHONE_PREFIXES = (
    "130",
    "131",
    "132",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "158",
    "159",
    "166",
    "176",
    "177",
    "180",
    "181",
    "182",
    "186",
    "187",
    "188",
    "189",
    "199",
)


@dataclass(frozen=True)
class Person:
    family: str
    given: str
    gender: str  # male | female
    birth_date: date
    resident_id: str
    phone: str
    city: str
    district: str
    line: str

    @property
    def name(self) -> str:
        return self.family + self.given

    @property
    def pinyin(self) -> tuple[str, str]:
        family = "".join(lazy_pinyin(self.family, style=Style.NORMAL)).capitalize()
        given = "".join(lazy_pinyin(self.given, style=Style.NORMAL)).capitalize()
        return family, given


def _given_name(rng: random.Random, gender: str) -> str:
    pool = GIVEN_MALE if gender == "male" else GIVEN_FEMALE
    length = rng.choice((1, 2, 2))
    return "".join(rng.choice(pool) for _ in range(length))


def person_generate(rng: random.Random, *, region: str, city: str, district: str, today: date | None = None) -> Person:
    today = today or date(2026, 1, 1)
    gender = rng.choice(("male", "female"))
    birth = today - timedelta(days=rng.randint(365 * 1, 365 * 92))
    # The sequence's last digit is odd for men and even for women (GB 11643).
    sequence = rng.randrange(0, 100) * 10 + rng.choice((1, 3, 5, 7, 9) if gender == "male" else (0, 2, 4, 6, 8))
    return Person(
        family=rng.choice(SURNAMES),
        given=_given_name(rng, gender),
        gender=gender,
        birth_date=birth,
        resident_id=make(region, birth, sequence),
        phone=rng.choice(PHONE_PREFIXES) + f"{rng.randrange(0, 10**8):08d}",
        city=city,
        district=district,
        line=f"{rng.choice('东西南北中')}街{rng.randint(1, 300)}号",
    )


def person_to_fhir(person: Person, *, mrn_system: str, mrn: str) -> dict:
    """A FHIR R4 Patient for ``person`` at one site (``mrn`` is that site's record number)."""
    family_py, given_py = person.pinyin
    return {
        "resourceType": "Patient",
        "identifier": [
            {
                "use": "official",
                "type": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "NI"}],
                    "text": "居民身份证",
                },
                "system": RESIDENT_ID_SYSTEM,
                "value": person.resident_id,
            },
            {
                "use": "usual",
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                "system": mrn_system,
                "value": mrn,
            },
        ],
        "active": True,
        "name": [
            {"use": "official", "text": person.name, "family": person.family, "given": [person.given]},
            {
                "use": "usual",
                "text": f"{family_py} {given_py}",
                "family": family_py,
                "given": [given_py],
                "extension": [
                    {"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation", "valueCode": "SYL"}
                ],
            },
        ],
        "telecom": [{"system": "phone", "value": person.phone, "use": "mobile"}],
        "gender": person.gender,
        "birthDate": person.birth_date.isoformat(),
        "address": [
            {
                "use": "home",
                "line": [person.line],
                "district": person.district,
                "city": person.city,
                "country": "CN",
                "text": f"{person.city}{person.district}{person.line}",
            }
        ],
    }
