"""``_content`` and ``_text``: word search over a resource's whole text, or over its narrative.

http://hl7.org/fhir/R4/search.html#content and #text leave the matching to the server. Here every
word of the search must be found: a Latin word or number as the start of a word of the resource
(``hyperten`` finds "Hypertension", case and accents ignored), Chinese by its characters (``高血压``
must appear as written: each pair of neighbouring characters is a lexeme, a single character is one
too) or by pinyin (``gaoxueya``, or the initials ``gxy``, from any character of a Chinese run on).

The lexemes are made here, once per write, and stored as an array; PostgreSQL matches them with a
``tsquery`` over ``array_to_tsvector(terms)``, which a partial GIN index per parameter serves:

    EXPLAIN (Condition?_content=高血压 hyperten, among 20,000 other Conditions)
    Nested Loop
      ->  HashAggregate  (Group Key: i1.resource_id)
            ->  Bitmap Heap Scan on fhir_search_text i1
                  Recheck Cond: (array_to_tsvector(terms) @@ '高血 & 血压 & hyperten:*') AND (param = '_content')
                  ->  Bitmap Index Scan on fhir_search_text_content
      ->  Index Only Scan using fhir_search_res_type_pk on fhir_search_res s

(tests/fhir_gateway/search/test_content.py checks that the index is used).
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

from fhir_gateway.search.normalize import normalize

TABLE = "fhir_search_text"
COLUMNS = ("terms",)
MODIFIERS = {""}
PARAMS = ("_content", "_text")
_TAGS = re.compile(r"<[^>]+>")
_WORD = re.compile(r"[^\W_]+")
_CJK_RUN = re.compile(r"([\u3400-\u9fff\uf900-\ufaff]+)")
PINYIN_SPAN = 6  # syllables joined from each character on: "wangxiaoming..." is found by "wangxiao"
MAX_LEXEME = 64
SHORT = 200  # texts up to this length have their lexemes cached
MAX_BYTES = 500_000  # a tsvector holds at most 1 MB; a huge resource is searchable by its first words
# Not text: metadata, and base64 attachment or Binary data.
_SKIPPED = {"meta", "resourceType"}


def narrative(content: dict) -> str:
    """The narrative's text, without tags."""
    div = (content.get("text") or {}).get("div") if isinstance(content.get("text"), dict) else None
    if not isinstance(div, str):
        return ""
    return " ".join(html.unescape(_TAGS.sub(" ", div)).split())


def _strings(value: object, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)
    elif isinstance(value, dict):
        binary = "contentType" in value
        for key, item in value.items():
            if key in _SKIPPED or key == "div" or (binary and key == "data"):
                continue
            _strings(item, out)
        family, given = value.get("family"), value.get("given")
        if isinstance(family, str) and isinstance(given, list):  # a HumanName in Chinese order: 王小明
            out.append(family + "".join(part for part in given if isinstance(part, str)))


@lru_cache(maxsize=16384)
def _cjk_lexemes(run: str) -> tuple[str, ...]:
    chars = list(run)
    pairs = ["".join(pair) for pair in zip(chars, chars[1:], strict=False)]
    syllables = [part for part in lazy_pinyin(run, errors="ignore") if part.strip()]
    initials = [part[:1] for part in syllables]
    spans = [
        normalize("".join(parts[start : start + PINYIN_SPAN]))
        for parts in (syllables, initials)
        for start in range(len(parts))
    ]
    return tuple(dict.fromkeys([*chars, *pairs, *spans]))


def _lexemes(text: str) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for word in _WORD.findall(_normalize(text)):
        for index, part in enumerate(_CJK_RUN.split(word)):
            if not part:
                continue
            if index % 2:  # a run of Chinese characters
                out.update(dict.fromkeys(_cjk_lexemes(part)))
            else:
                out[part[:MAX_LEXEME]] = None
    return tuple(out)


_short_lexemes = lru_cache(maxsize=65536)(_lexemes)  # codes, systems and displays recur across resources


def _normalize(text: str) -> str:
    return normalize(text) if len(text) <= SHORT else normalize.__wrapped__(text)  # only short texts cached


def lexemes(*texts: str) -> list[str]:
    """The lexemes of ``texts`` (words, Chinese characters and pairs, pinyin), each once."""
    out: dict[str, None] = {}
    for text in texts:
        out.update(dict.fromkeys(_short_lexemes(text) if len(text) <= SHORT else _lexemes(text)))
    return list(out)


def _budget(terms: list[str]) -> list[str]:
    if 4 * sum(map(len, terms)) + 8 * len(terms) <= MAX_BYTES:  # at most 4 bytes a character: surely fits
        return terms
    kept, size = [], 0
    for term in terms:
        size += len(term.encode()) + 8
        if size > MAX_BYTES:
            break
        kept.append(term)
    return kept


def extract_resource(content: dict) -> list[tuple[str, list[str]]]:
    """``[(param, terms)]``: the rows of one resource, for ``_content`` and (with a narrative) ``_text``."""
    story = narrative(content)
    texts: list[str] = [story] if story else []
    _strings(content, texts)
    rows = []
    if terms := _budget(lexemes(*texts)):
        rows.append(("_content", terms))
    if story and (terms := _budget(lexemes(story))):
        rows.append(("_text", terms))
    return rows


def tsquery(value: str) -> str:
    """The ``tsquery`` for one search value; ValueError when it has no word to look for."""
    parts: list[str] = []
    for word in _WORD.findall(normalize(value)):
        for index, part in enumerate(_CJK_RUN.split(word)):
            if not part:
                continue
            if index % 2:
                pieces = [part] if len(part) == 1 else ["".join(pair) for pair in zip(part, part[1:], strict=False)]
                parts += [f"'{piece}'" for piece in pieces]
            else:
                parts.append(f"'{part[:MAX_LEXEME]}':*")
    if not parts:
        raise ValueError(_("no word to search for"))
    return " & ".join(dict.fromkeys(parts))


def condition_for(value: str, col) -> tuple[str, list]:
    return f"array_to_tsvector({col('terms')}) @@ %s::tsquery", [tsquery(value)]
