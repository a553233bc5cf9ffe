"""String normalization for search: case- and accent-insensitive, and pinyin for Chinese text.

The spec's string search matches a prefix ignoring case and accents
(http://hl7.org/fhir/R4/search.html#string). In this alliance a Chinese name is also looked up by
its pinyin, so text with Chinese characters is indexed in three forms: the characters, the full
pinyin without spaces (``wangxiaoming``) and the initials (``wxm``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=65536)
def normalize(text: str) -> str:
    """Lower-case, accents and compatibility forms folded, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SPACES.sub(" ", unicodedata.normalize("NFC", folded).casefold()).strip()


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


@lru_cache(maxsize=65536)
def pinyin_forms(text: str) -> tuple[str, ...]:
    """The full pinyin (no spaces) and the initials of the Chinese characters in ``text``."""
    if not has_cjk(text):
        return ()
    syllables = [part for part in lazy_pinyin(text, errors="ignore") if part.strip()]
    initials = [part for part in lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore") if part.strip()]
    full = normalize("".join(syllables).replace(" ", ""))
    short = normalize("".join(initials).replace(" ", ""))
    return tuple(form for form in dict.fromkeys((full, short)) if form)
