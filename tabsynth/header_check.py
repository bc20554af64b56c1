"""Does the first row of a file hold column names, or is it a record? A file without a header
row would otherwise turn a real record into the column names of every output (and quote it in
messages), so a first row that looks like data is refused with a way out."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tabsynth.errors import TableError
from tabsynth.number_text import NUMBER
from tabsynth.pii import looks_like_pii_value

GENERIC_NAME = "column_{}"  # the names of a file read without a header row
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$"
                   r"|^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}$")
_YEAR = range(1800, 2201)  # a whole number in this range is a fair column name (a year)
ROWS_LOOKED_AT = 1_000
NO_HEADER_HINT = ("add a header row, or read the file without one (command line: --no-header; "
                  "page: tick 'The first row is data') to name the columns column_1, column_2, …")


def generic_names(width: int) -> list[str]:
    """column_1 … column_width."""
    return [GENERIC_NAME.format(i) for i in range(1, width + 1)]


def check_header_is_names(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A TableError (quoting no name) when at least half of the names look like values: a
    number in a column of numbers (a year excepted), a date, a personal value (an email, a
    phone number, a person's name...), or a value found again in its own column among the
    first rows."""
    width = len(header)
    if width == 0:
        return
    looked_at = rows[:ROWS_LOOKED_AT]
    like_data = sum(_looks_like_value(name, [row[i] for row in looked_at if i < len(row)])
                    for i, name in enumerate(header))
    if like_data * 2 >= width:
        raise TableError(f"the first row looks like data, not column names ({like_data} of "
                         f"{width} look like values of their column): {NO_HEADER_HINT}")


def _looks_like_value(name: str, column: list[object]) -> bool:
    name = str(name).strip()
    if not name:
        return False
    texts = [str(v).strip() for v in column if v is not None and str(v).strip()]
    if name in texts:
        return True
    if _DATE.match(name) or looks_like_pii_value(name):
        return True
    if NUMBER.match(name):
        if re.fullmatch(r"\d+", name) and int(name) in _YEAR:
            return False
        numeric = sum(bool(NUMBER.match(t)) for t in texts)
        return not texts or numeric * 10 >= len(texts) * 9
    return False
