"""How numbers are written in a cell: plain, with thousands separators, a currency sign or a
decimal comma, and the digit strings that must stay text (codes with leading zeros, cards).

One cell at a time, so a cell's reading never depends on the other cells of its column.
"""

from __future__ import annotations

import re

NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
INFINITY = re.compile(r"^[+-]?inf(inity)?$", re.I)
THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
CURRENCY = "€$£¥"
DECIMAL_COMMA = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*(,\d+)?$|^[+-]?\d+(,\d+)?$")
MAX_NUMBER_CHARS = 400  # a cell longer than this is never read as a number


def keep_as_text(text: str) -> bool:
    """Digit strings that numbers would corrupt: leading zeros (codes) or > 15 digits (cards)."""
    digits = text.lstrip("+-")
    return (len(digits) > 1 and digits[0] == "0" and digits[1].isdigit()) or \
        sum(ch.isdigit() for ch in digits) > 15


def parse_number(text: str) -> float | None:
    """The number one cell writes (plain, 1,234.5, €12, 40,5 or 1.234,5), or None.

    A comma followed by three digits is a thousands separator; otherwise a decimal comma.
    """
    text = text.strip()
    if len(text) > MAX_NUMBER_CHARS or keep_as_text(text):
        return None
    stripped = text.strip(CURRENCY + " ")
    if NUMBER.match(stripped) or INFINITY.match(stripped):
        return float(stripped)
    if THOUSANDS.match(stripped):
        return float(stripped.replace(",", ""))
    if DECIMAL_COMMA.match(stripped):
        return float(stripped.replace(".", "").replace(",", "."))
    return None
