"""Paging by cursor: every list of the APIs is newest first and continues below the last row's id.

The cursor is that id in base 36: opaque to clients, and any well-formed
one is valid (the schemas take 1 to 12 digits, which stay within a 64-bit
id). Pages follow ids, so rows written while a client pages through never
shift or repeat what it has not read yet.
"""

from __future__ import annotations

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def encode(row_id: int) -> str:
    text = ""
    while True:
        row_id, rest = divmod(row_id, 36)
        text = DIGITS[rest] + text
        if row_id == 0:
            return text


def decode(cursor: str | None) -> int | None:
    return int(cursor, 36) if cursor else None


def next_cursor(rows: list, limit: int, row_id=lambda row: row.id) -> str | None:
    """The cursor after a page of ``limit`` rows, from ``limit + 1`` rows read (``None``: the last page)."""
    return encode(row_id(rows[limit - 1])) if len(rows) > limit else None
