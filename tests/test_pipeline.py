"""synthesize()'s own steps, below the CLI and the page: the holdout split."""

from __future__ import annotations

from pathlib import Path


def test_target_stratifies_the_split(census_path: Path, tmp_path: Path) -> None:
    from tabsynth.io import read_table
    from tabsynth.pipeline import split_holdout

    frame = read_table(census_path)
    train, holdout = split_holdout(frame, 0.2, seed=3, target="income")
    share = frame["income"].value_counts(normalize=True)
    assert len(holdout) == round(len(frame) * 0.2)
    for label, expected in share.items():
        assert abs((holdout["income"] == label).mean() - expected) < 0.002
        assert abs((train["income"] == label).mean() - expected) < 0.002
