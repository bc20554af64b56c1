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
