"""The demo alliance: one general hospital, five county hospitals, users of every role, patients.

``demo_load`` is idempotent: it looks every row up by its natural key (site
code, department code, username, patient identifier) before creating it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction

from federation.sites.constants import SiteKind, Specialty
from federation.sites.models import Department, Site
from hub.accounts.constants import Role
from hub.accounts.models import User
from hub.accounts.services import user_create
from hub.demo.people import Person, person_generate

ALLIANCE = ("alliance", "示范市紧密型医疗联合体", "Shifan City Medical Alliance")
GENERAL = ("general", "示范市第一人民医院", "Shifan First People's Hospital")
# code, name, English name, region code (first six digits of residents' IDs), district
COUNTIES = [
    ("county-a", "东川县人民医院", "Dongchuan County People's Hospital", "411321", "东川县"),
    ("county-b", "西河县人民医院", "Xihe County People's Hospital", "411322", "西河县"),
    ("county-c", "南山县人民医院", "Nanshan County People's Hospital", "411323", "南山县"),
    ("county-d", "北林县人民医院", "Beilin County People's Hospital", "411324", "北林县"),
    ("county-e", "青石县中医院", "Qingshi County TCM Hospital", "411325", "青石县"),
]
GENERAL_DEPARTMENTS = [
    ("emergency", "急诊科", "Emergency", Specialty.EMERGENCY),
    ("cardiology", "心血管内科", "Cardiology", Specialty.CARDIOLOGY),
    ("neurology", "神经内科", "Neurology", Specialty.NEUROLOGY),
    ("imaging", "超声影像科", "Ultrasound and Imaging", Specialty.IMAGING),
    ("icu", "重症医学科", "Intensive Care Unit", Specialty.ICU),
    ("toxicology", "中毒救治科", "Toxicology", Specialty.TOXICOLOGY),
    ("trauma", "创伤外科", "Trauma Surgery", Specialty.TRAUMA),
    ("rehabilitation", "康复医学科", "Rehabilitation", Specialty.REHABILITATION),
]
COUNTY_DEPARTMENTS = [
    ("emergency", "急诊科", "Emergency", Specialty.EMERGENCY),
    ("internal", "内科", "Internal Medicine", Specialty.INTERNAL),
]
# username, display name, department code
SPECIALISTS = [
    ("cardiologist_zhang", "张建华", "cardiology"),
    ("cardiologist_liu", "刘文博", "cardiology"),
    ("neurologist_li", "李海峰", "neurology"),
    ("neurologist_zhou", "周欣怡", "neurology"),
    ("emergency_chen", "陈志强", "emergency"),
    ("radiologist_zhao", "赵雪梅", "imaging"),
    ("intensivist_sun", "孙浩然", "icu"),
    ("toxicologist_wu", "吴静", "toxicology"),
    ("surgeon_ma", "马俊", "trauma"),
    ("rehab_huang", "黄丽", "rehabilitation"),
]
COUNTY_DOCTOR_NAMES = ["王磊", "李娜", "杨勇", "赵敏", "黄涛", "周芳", "吴鹏", "徐静", "孙超", "胡婷"]
PATIENTS_PER_COUNTY = 24
DEMO_SEED = 20261126


@dataclass
class DemoSummary:
    sites: int = 0
    users: int = 0
    patients: int = 0
    created: dict[str, int] = field(default_factory=dict)


def _site(code: str, name: str, name_en: str, kind: str, parent: Site | None, summary: DemoSummary) -> Site:
    site, created = Site.objects.get_or_create(
        code=code, defaults={"name": name, "name_en": name_en, "kind": kind, "parent": parent}
    )
    summary.created["sites"] = summary.created.get("sites", 0) + int(created)
    return site


def _department(site: Site, code: str, name: str, name_en: str, specialty: str) -> Department:
    department, _ = Department.objects.get_or_create(
        site=site, code=code, defaults={"name": name, "name_en": name_en, "specialty": specialty}
    )
    return department


def _user(summary: DemoSummary, password_hash: str, **fields) -> User:
    existing = User.objects.filter(username=fields["username"]).first()
    if existing is not None:
        return existing
    summary.created["users"] = summary.created.get("users", 0) + 1
    user = user_create(password=None, **fields)
    user.password = password_hash  # hashed once for all demo users: loading stays fast
    user.save(update_fields=["password"])
    return user


def demo_people(site_code: str, region: str, district: str) -> list[Person]:
    rng = random.Random(f"{DEMO_SEED}-{site_code}")
    return [person_generate(rng, region=region, city="示范市", district=district) for _ in range(PATIENTS_PER_COUNTY)]


@transaction.atomic
def demo_load(*, password: str) -> DemoSummary:
    summary = DemoSummary()
    password = make_password(password)
    alliance = _site(*ALLIANCE, SiteKind.ALLIANCE, None, summary)
    general = _site(*GENERAL, SiteKind.GENERAL, alliance, summary)
    departments = {code: _department(general, code, *rest) for code, *rest in GENERAL_DEPARTMENTS}

    _user(
        summary,
        password,
        username="hub_admin",
        display_name="平台管理员",
        role=Role.SITE_ADMIN,
        site=alliance,
        is_superuser=True,
        email="admin@alliance.example",
    )
    _user(
        summary,
        password,
        username="official_wang",
        display_name="王卫健",
        role=Role.OFFICIAL,
        site=alliance,
        email="wang@health.example",
    )
    _user(summary, password, username="general_admin", display_name="信息科 钱工", role=Role.SITE_ADMIN, site=general)
    for username, name, dept in SPECIALISTS:
        _user(
            summary,
            password,
            username=username,
            display_name=name,
            role=Role.SPECIALIST,
            site=general,
            department=departments[dept],
            email=f"{username}@general.example",
        )

    for index, (code, name, name_en, _region, _district) in enumerate(COUNTIES):
        county = _site(code, name, name_en, SiteKind.COUNTY, alliance, summary)
        county_departments = {c: _department(county, c, *rest) for c, *rest in COUNTY_DEPARTMENTS}
        letter = code.rsplit("-", 1)[-1]
        for n in range(2):
            doctor_name = COUNTY_DOCTOR_NAMES[(index * 2 + n) % len(COUNTY_DOCTOR_NAMES)]
            _user(
                summary,
                password,
                username=f"doctor{n + 1}_{letter}",
                display_name=doctor_name,
                role=Role.COUNTY_DOCTOR,
                site=county,
                department=county_departments["emergency" if n == 0 else "internal"],
            )
        _user(
            summary,
            password,
            username=f"admin_{letter}",
            display_name=f"{name} 信息科",
            role=Role.SITE_ADMIN,
            site=county,
        )

    summary.sites = Site.objects.count()
    summary.users = User.objects.count()
    from hub.demo.patients import demo_patients_load  # it imports this module's COUNTIES

    summary.patients = demo_patients_load()
    from hub.demo.referrals import demo_referrals_load  # the requests need the patients above

    summary.created["referrals"] = demo_referrals_load()
    from hub.demo.records import demo_records_load  # records: ECGs, labs, a CT, documents of those requests' patients

    summary.created["clinical records"] = demo_records_load()
    from hub.demo.dashboard import demo_dashboard_load  # the network dashboard's history (hub.dashboards)

    summary.created["dashboard_history"] = demo_dashboard_load()
    from hub.demo.federation import demo_federation_load  # counties' sync configurations and the MPI

    demo_federation_load()
    from hub.demo.consultations import demo_rooms_load  # the room of the in-progress chest-pain consultation

    summary.created["open rooms"] = demo_rooms_load()
    return summary
