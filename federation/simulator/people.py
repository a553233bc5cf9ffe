"""Synthetic residents with Chinese names, phones, addresses and valid resident IDs.

Deterministic for a seed. The federation cannot import the hub, so its simulator and benchmarks
generate people here; the hub's demo and tests use the same generator (``hub.demo.people``).
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
GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳国志海峰文博子轩然晨睿泽"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英华慧巧美娅玲桂兰萍红玉梅琳雪婷颖佳琪欣怡雨涵梓萱诗思彤晓燕"
PHONE_PREFIXES = ("130", "131", "135", "136", "137", "138", "139", "150", "151", "158", "159", "177", "186", "188")


@dataclass(frozen=True)
class Person:
    family: str
    given: str
    gender: str  # male | female
    birth_date: date
    resident_id: str
    phone: str
    district: str
    line: str
    city: str = "示范市"

    @property
    def name(self) -> str:
        return self.family + self.given

    @property
    def pinyin(self) -> tuple[str, str]:
        return (
            "".join(lazy_pinyin(self.family, style=Style.NORMAL)).capitalize(),
            "".join(lazy_pinyin(self.given, style=Style.NORMAL)).capitalize(),
        )


def person_generate(
    rng: random.Random, *, region: str, district: str, city: str = "示范市", today: date = date(2026, 1, 1)
) -> Person:
    gender = rng.choice(("male", "female"))
    pool = GIVEN_MALE if gender == "male" else GIVEN_FEMALE
    born = today - timedelta(days=rng.randint(365, 365 * 92))
    # The sequence's last digit is odd for men and even for women (GB 11643).
    sequence = rng.randrange(0, 100) * 10 + rng.choice((1, 3, 5, 7, 9) if gender == "male" else (0, 2, 4, 6, 8))
    return Person(
        family=rng.choice(SURNAMES),
        given="".join(rng.choice(pool) for _ in range(rng.choice((1, 2, 2)))),
        gender=gender,
        birth_date=born,
        resident_id=make(region, born, sequence),
        phone=rng.choice(PHONE_PREFIXES) + f"{rng.randrange(0, 10**8):08d}",
        district=district,
        line=f"{rng.choice('东西南北中')}街{rng.randint(1, 300)}号",
        city=city,
    )


def patient_resource(
    person: Person, *, mrn_system: str, mrn: str, resident_id: str | None = None, pinyin_only: bool = False
) -> dict:
    """A FHIR R4 Patient for ``person`` at one site; ``resident_id=""`` leaves the ID out."""
    family_py, given_py = person.pinyin
    rid = person.resident_id if resident_id is None else resident_id
    identifiers = [{"use": "usual", "system": mrn_system, "value": mrn}]
    if rid:
        identifiers.insert(0, {"use": "official", "system": RESIDENT_ID_SYSTEM, "value": rid})
    names = [{"use": "usual", "text": f"{family_py} {given_py}", "family": family_py, "given": [given_py]}]
    if not pinyin_only:
        names.insert(0, {"use": "official", "text": person.name, "family": person.family, "given": [person.given]})
    patient = {
        "resourceType": "Patient",
        "identifier": identifiers,
        "active": True,
        "name": names,
        "gender": person.gender,
        "birthDate": person.birth_date.isoformat(),
        "address": [
            {"use": "home", "line": [person.line], "district": person.district, "city": person.city, "country": "CN"}
        ],
    }
    if person.phone:
        patient["telecom"] = [{"system": "phone", "value": person.phone, "use": "mobile"}]
    return patient
