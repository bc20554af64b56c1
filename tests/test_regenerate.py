"""The collision guard: made-up values never equal a real value of any made-up column."""

from __future__ import annotations

import pandas as pd

from tabsynth.regenerate import CollisionGuard


def test_guard_knows_real_values_of_every_made_up_column() -> None:
    """A made-up contact address equal to a real address of another email column is a real
    value in the output all the same (caught by the no-real-PII test: one run in many)."""
    frame = pd.DataFrame({"contact": ["ann.1@mail1.example.org", None],
                          "c7": ["gwilliams@example.net", "kim@example.com"],
                          "learned": ["secret@example.org", "x"]})
    guard = CollisionGuard.from_frame(frame, ["contact", "c7"])
    assert guard.is_real("gwilliams@example.net")
    assert guard.is_real("  GWilliams@Example.NET "), "compared after normalising"
    assert guard.is_real("ann.1@mail1.example.org")
    assert not guard.is_real("secret@example.org"), "only the made-up columns are guarded"
    assert not guard.is_real("someone.else@example.net")
    assert not CollisionGuard.from_frame(frame, []).is_real("kim@example.com")


def test_wide_keys_are_made_up_without_overflow() -> None:
    """A key column learned (under DP, from noisy counts) to be 20 digits wide: numeric keys
    stay within 64-bit integers, text keys keep their width."""
    from tabsynth.regenerate import RegenerationState, regenerate_column
    from tabsynth.schema import ColumnSpec

    for dtype in ("int64", "object"):
        spec = ColumnSpec(name="key", kind="identifier", dtype=dtype, id_prefix="",
                          id_width=20)
        values = regenerate_column(spec, RegenerationState(), 50, seed=1, guard=None)
        assert len(set(values)) == 50
        if dtype == "object":
            assert all(len(v) == 20 and v.isdigit() for v in values)
        else:
            assert all(0 < v < 2**63 for v in values)


def test_made_up_values_avoid_real_identifying_text_of_every_column() -> None:
    """A DP schema can learn a column of emails as categories (not made up): its real emails
    still join the guard, so that a made-up email column cannot draw one of them again; a
    column of few categories does not."""
    import pandas as pd

    from tabsynth.regenerate import CollisionGuard
    from tabsynth.synthesizers.base import guarded_columns

    known = pd.DataFrame({"contact": [f"user{i}@example.org" for i in range(50)],
                          "c7": [f"other{i}@example.org" for i in range(50)],
                          "tier": ["gold", "silver"] * 25})
    columns = guarded_columns(known, ["c7"])
    assert columns == ["c7", "contact"]
    guard = CollisionGuard.from_frame(known, columns)
    assert guard.is_real("user7@example.org") and guard.is_real("other3@example.org")
    assert not guard.is_real("gold")
