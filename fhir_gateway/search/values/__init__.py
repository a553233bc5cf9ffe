"""One module per search parameter type: what is indexed on write and how a value is matched.

Each module offers ``TABLE`` and ``COLUMNS`` (the index table and its value columns), ``extract(node)``
(the rows for one node the expression selected: ``(suffix, values)``, where a suffix such as
``:identifier`` files the row under a derived parameter) and ``condition(value, modifier, col)``
(SQL and arguments matching one value; ``col(name)`` names a column, so composites reuse it).
"""

from __future__ import annotations

from fhir_gateway.search.values import composite, content, date, number, quantity, reference, string, token, uri

KINDS = {
    "token": token,
    "string": string,
    "date": date,
    "number": number,
    "quantity": quantity,
    "reference": reference,
    "uri": uri,
    "composite": composite,
    "special": number,  # Location ``near``: latitude and longitude rows
}
# ``_content`` and ``_text`` have a table of their own (their definitions call them strings).
COLUMNS = {kind.TABLE: kind.COLUMNS for kind in (*KINDS.values(), content)}
TABLES = sorted(COLUMNS)


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
