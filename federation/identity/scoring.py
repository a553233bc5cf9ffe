"""Scores two people: a deterministic rule on the resident ID, then weighted evidence.

Weights are log-likelihood-like points (Fellegi-Sunter): agreement on a rare
attribute adds much, disagreement subtracts. Two thresholds split the total:
at or above ``auto_link`` records are linked; between ``review`` and ``auto_link``
a site admin decides. Every weight and both thresholds come from the
``FEDERATION_MPI`` setting, so an alliance can tune them to its data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from federation.identity.features import Features
from federation.identity.names import NameKey, edit_distance_at_most_one

DEFAULT_WEIGHTS = {
    "rid_agree": 30.0,  # the same valid resident ID: deterministic
    "rid_disagree": -30.0,  # two valid, different resident IDs: two people
    "name_exact": 8.0,  # identical characters
    "name_homophone": 6.5,  # same pinyin with tones (e.g. 李明 / 李鸣)
    "name_pinyin": 6.0,  # same pinyin without tones, or characters against pinyin
    "name_near_homophone": 3.0,  # same after folding accents (zh/z, n/l, -ng/-n)
    "name_swapped": 5.0,  # family and given names in the other order
    "name_typo": 2.0,  # one letter off in pinyin
    "name_disagree": -8.0,
    "birth_exact": 7.0,
    "birth_near": 1.0,  # one digit off, or day and month swapped
    "birth_disagree": -8.0,
    "gender_agree": 0.5,
    "gender_disagree": -6.0,
    "phone_agree": 6.0,
    "phone_disagree": -0.5,
    "address_agree": 4.0,
    "district_agree": 0.5,
    "address_disagree": -0.5,
}
DEFAULT_THRESHOLDS = {"auto_link": 17.0, "review": 10.0}


@dataclass(frozen=True)
class MatchConfig:
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    auto_link: float = DEFAULT_THRESHOLDS["auto_link"]
    review: float = DEFAULT_THRESHOLDS["review"]

    @classmethod
    def from_settings(cls) -> MatchConfig:
        conf = getattr(settings, "FEDERATION_MPI", {}) or {}
        return cls(
            weights={**DEFAULT_WEIGHTS, **conf.get("weights", {})},
            auto_link=float(conf.get("auto_link", DEFAULT_THRESHOLDS["auto_link"])),
            review=float(conf.get("review", DEFAULT_THRESHOLDS["review"])),
        )

    def grade(self, score: float) -> str:
        """The FHIR match-grade (http://hl7.org/fhir/R4/extension-match-grade.html)."""
        if score >= self.auto_link:
            return "certain"
        if score >= self.review:
            return "probable"
        if score > 0:
            return "possible"
        return "certainly-not"


def _name_level(a: NameKey, b: NameKey) -> str | None:
    if a.empty or b.empty:
        return None
    if a.han and b.han and a.han == b.han:
        return "name_exact"
    if a.toned and b.toned and a.toned == b.toned:
        return "name_homophone"
    if a.plain == b.plain:
        return "name_pinyin"
    if a.fuzzy == b.fuzzy:
        return "name_near_homophone"
    if edit_distance_at_most_one(a.plain, b.plain):
        return "name_typo"
    return "name_disagree"


_NAME_RANK = ["name_exact", "name_homophone", "name_pinyin", "name_near_homophone", "name_typo", "name_disagree"]


def _name_points(a: Features, b: Features, w: dict[str, float]) -> tuple[float, str]:
    family = _name_level(a.family, b.family)
    given = _name_level(a.given, b.given)
    if family is None or given is None:
        return 0.0, "name_missing"
    # The whole name grades as its weaker part.
    level = max(family, given, key=_NAME_RANK.index)
    if level == "name_disagree":
        swapped_f, swapped_g = _name_level(a.family, b.given), _name_level(a.given, b.family)
        if swapped_f in _NAME_RANK[:4] and swapped_g in _NAME_RANK[:4]:
            return w["name_swapped"], "name_swapped"
        if a.family.plain + a.given.plain == b.family.plain + b.given.plain:
            return w["name_pinyin"], "name_pinyin"  # the same letters split differently
    return w[level], level


def _birth_points(a: str, b: str, w: dict[str, float]) -> tuple[float, str]:
    if not a or not b:
        return 0.0, "birth_missing"
    if a == b:
        return w["birth_exact"], "birth_exact"
    if len(a) == len(b) == 10 and (
        sum(x != y for x, y in zip(a, b, strict=True)) == 1
        or (a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7])
    ):
        return w["birth_near"], "birth_near"
    return w["birth_disagree"], "birth_disagree"


def score(a: Features, b: Features, config: MatchConfig) -> tuple[float, dict[str, float]]:
    """The total and the points each attribute contributed."""
    w = config.weights
    parts: dict[str, float] = {}
    if a.rid and b.rid:
        parts["rid_agree" if a.rid == b.rid else "rid_disagree"] = w["rid_agree" if a.rid == b.rid else "rid_disagree"]
    points, level = _name_points(a, b, w)
    parts[level] = points
    points, level = _birth_points(a.birth_date, b.birth_date, w)
    parts[level] = points
    if a.gender and b.gender and a.gender != "unknown" and b.gender != "unknown":
        key = "gender_agree" if a.gender == b.gender else "gender_disagree"
        parts[key] = w[key]
    if a.phone and b.phone:
        key = "phone_agree" if a.phone == b.phone else "phone_disagree"
        parts[key] = w[key]
    if a.district and b.district:
        if a.district == b.district and a.line and a.line == b.line:
            parts["address_agree"] = w["address_agree"]
        elif a.district == b.district:
            parts["district_agree"] = w["district_agree"]
        else:
            parts["address_disagree"] = w["address_disagree"]
    return round(sum(parts.values()), 3), parts
