"""Narrative XHTML (``Narrative.div``): the subset of XHTML FHIR allows (http://hl7.org/fhir/R4/narrative.html#xhtml).

txt-1: only the basic formatting elements and attributes of HTML 4 (the HL7 validator's lists below), no
script, no event handlers (``onclick``...), no forms, frames, objects, ``head``/``body``, DOCTYPE or
processing instructions; everything in the XHTML namespace with a ``div`` at the root. txt-2: some
non-whitespace content. On top, for safety in the hub's browsers: links (``href``, ``cite``) may use only
http, https, mailto, tel or ftp, or be relative; images only ``#id`` (a contained Binary) or
``data:image/...``; ``style`` may not load anything (``url(``, ``@import``, ``expression(``...).

``narrative_problems`` is cached by the text: the same generated narratives come again and again.
"""

from __future__ import annotations

import html.entities
import re
import xml.etree.ElementTree as ElementTree
from functools import lru_cache

XHTML = "{http://www.w3.org/1999/xhtml}"
XML = "{http://www.w3.org/XML/1998/namespace}"
ELEMENTS = frozenset(
    """p br div h1 h2 h3 h4 h5 h6 a span b em i strong small big tt dfn q var abbr acronym cite blockquote hr
    address bdo kbd sub sup ul ol li dl dt dd pre table caption colgroup col thead tr tfoot tbody th td code samp
    img map area""".split()
)
ATTRIBUTES = frozenset(
    """title style class id lang xml:lang dir accesskey tabindex span width align valign char charoff abbr axis
    headers scope rowspan colspan""".split()
)
ELEMENT_ATTRIBUTES = frozenset(
    """a.href a.name img.src img.border div.xmlns blockquote.cite q.cite a.charset a.type a.hreflang a.rel a.rev
    a.shape a.coords img.alt img.longdesc img.height img.width img.usemap img.ismap map.name area.shape
    area.coords area.href area.nohref area.alt table.summary table.width table.border table.frame table.rules
    table.cellspacing table.cellpadding pre.space td.nowrap""".split()
)
LINKS = frozenset({"a.href", "area.href", "blockquote.cite", "q.cite", "img.longdesc"})
LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel", "ftp"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f]+")  # browsers drop these inside a URL ("java\tscript:")
_DATA_IMAGE = re.compile(r"^data:image/[A-Za-z0-9.+\-]+(;[A-Za-z0-9=.+\-]+)*(;base64)?,", re.IGNORECASE)
_STYLE_LOADS = re.compile(r"url\s*\(|@import|expression\s*\(|javascript:|behavior\s*:|-moz-binding", re.IGNORECASE)
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
MAX_DEPTH = 100


def _numeric_entities(text: str) -> str:
    """HTML named entities (``&nbsp;``) as numeric references, which XML knows without a DTD."""

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name in _XML_ENTITIES or name not in html.entities.name2codepoint:
            return match.group(0)
        return f"&#{html.entities.name2codepoint[name]};"

    return _ENTITY.sub(replace, text) if "&" in text else text


def _local(tag: str) -> str | None:
    return tag[len(XHTML) :] if tag.startswith(XHTML) else None


def _attribute_name(name: str) -> str:
    return "xml:" + name[len(XML) :] if name.startswith(XML) else name


def _url_problem(value: str, *, image: bool) -> tuple | None:
    cleaned = _IGNORED_IN_URLS.sub("", value)
    if image:
        if cleaned.startswith("#") or _DATA_IMAGE.match(cleaned):
            return None
        return ("narrative-image", {"url": value[:200]})
    scheme = _SCHEME.match(cleaned)
    if scheme and scheme.group(1).lower() not in LINK_SCHEMES:
        return ("narrative-url", {"url": value[:200]})
    return None


@lru_cache(maxsize=4096)
def narrative_problems(text: str) -> tuple[tuple[str, dict], ...]:
    """The problems of a ``Narrative.div`` as ``(message id, parameters)``; empty when it is allowed."""
    lowered = text.lower()
    if "<!doctype" in lowered or "<!entity" in lowered or "<?" in text:
        return (("narrative-doctype", {}),)
    try:
        root = ElementTree.fromstring(_numeric_entities(text))  # noqa: S314 - no DTD, no entities (checked above)
    except ElementTree.ParseError as error:
        return (("narrative-xml", {"error": str(error)}),)
    problems: list[tuple[str, dict]] = []
    if root.tag != XHTML + "div":
        problems.append(("narrative-root", {"element": root.tag}))
    content = False
    stack = [(root, 0)]
    while stack:
        element, depth = stack.pop()
        name = _local(element.tag)
        if name is None or name not in ELEMENTS:
            problems.append(("narrative-element", {"element": name or element.tag}))
            continue
        if depth > MAX_DEPTH:
            problems.append(("narrative-depth", {}))
            break
        for raw_name, value in element.attrib.items():
            attribute = _attribute_name(raw_name)
            combined = f"{name}.{attribute}"
            if attribute not in ATTRIBUTES and combined not in ELEMENT_ATTRIBUTES:
                problems.append(("narrative-attribute", {"attribute": attribute, "element": name}))
            elif combined in LINKS or combined == "img.src":
                problem = _url_problem(value, image=combined == "img.src")
                if problem:
                    problems.append(problem)
            elif attribute == "style" and _STYLE_LOADS.search(value):
                problems.append(("narrative-style", {"element": name}))
        if name == "img" or (element.text and element.text.strip()) or (element.tail and element.tail.strip()):
            content = True
        stack.extend((child, depth + 1) for child in reversed(list(element)))
    if not content and not problems:
        problems.append(("narrative-empty", {}))
    return tuple(problems)
