"""Text from the data made safe to show: invisible direction controls written out visibly.

A column name or category holding U+202E (RIGHT-TO-LEFT OVERRIDE) would reverse the text after
it on the page, so "fdp.exe" could read as "exe.pdf". HTML escaping leaves such characters as
they are; this replaces each with a visible tag such as "[U+202E]".
"""

from __future__ import annotations

import re

BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """`text` with every bidirectional control character replaced by its code, visibly."""
    return BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)
