"""Chinese personal names compared by characters and by pinyin.

A name is held as Chinese characters when a site has them, and always as pinyin,
so that 李明 and "Li Ming" compare. Names are surname first. Three pinyin forms
grade how alike two names sound: with tones (homophones), without tones, and a
"fuzzy" form that folds the confusions of many southern accents (zh/z, ch/c,
sh/s, n/l, -ng/-n), so that near-homophones still meet but weigh less.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, pinyin

_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN_SPLIT = re.compile(r"[\s\-·.,']+")


@lru_cache(maxsize=20000)
def _char_pinyin(char: str) -> tuple[str, str]:
    """(with tone number, without tone) for one character, e.g. ("ming2", "ming")."""
    toned = pinyin(char, style=Style.TONE3, heteronym=False, neutral_tone_with_five=True)[0][0]
    return toned, re.sub(r"\d", "", toned)


def _latin(value: str) -> str:
    value = unicodedata.normalize("NFKD", value).replace("ü", "v")
    return "".join(c for c in value.lower() if "a" <= c <= "z")


@dataclass(frozen=True)
class NameKey:
    """One part of a name (the family or the given name) in every form the matcher compares."""

    han: str  # Chinese characters, "" when the site only has Latin letters
    toned: str  # "ming2" per syllable, joined; "" without characters
    plain: str  # "ming", tones dropped
    fuzzy: str  # accent-folded

    @property
    def empty(self) -> bool:
        return not self.plain


def name_key(value: str) -> NameKey:
    value = (value or "").strip()
    if _HAN.search(value):
        han = "".join(_HAN.findall(value))
        syllables = [_char_pinyin(c) for c in han]
        plain = "".join(p for _, p in syllables)
        return NameKey(han=han, toned="".join(t for t, _ in syllables), plain=plain, fuzzy=_fuzzy_latin(plain))
    plain = _latin(value)
    # Without characters the syllable boundaries are unknown; fold the whole string.
    return NameKey(han="", toned="", plain=plain, fuzzy=_fuzzy_latin(plain))


def _fuzzy_latin(plain: str) -> str:
    """Fold zh/z, ch/c, sh/s, n/l, r/l and -ng/-n; works on joined syllables, with or without characters."""
    out = plain.replace("zh", "z").replace("ch", "c").replace("sh", "s")
    return out.replace("ng", "n").replace("n", "l").replace("r", "l")


def split_latin_full_name(text: str) -> tuple[str, str]:
    """ "Li Ming" -> ("Li", "Ming"): Chinese names are written surname first."""
    parts = [p for p in _LATIN_SPLIT.split(text.strip()) if p]
    if not parts:
        return "", ""
    return parts[0], "".join(parts[1:])


def split_han_full_name(text: str) -> tuple[str, str]:
    """ "李明" -> ("李", "明"); the common two-character surnames are kept whole."""
    han = "".join(_HAN.findall(text))
    if len(han) >= 3 and han[:2] in COMPOUND_SURNAMES:
        return han[:2], han[2:]
    return han[:1], han[1:]


COMPOUND_SURNAMES = frozenset("欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐".split())


def edit_distance_at_most_one(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by at most one insertion, deletion, substitution or adjacent swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]
