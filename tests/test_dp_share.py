"""How much of epsilon a DP fit's domain spends when the synthesizer leaves it to the data: more
on a small table, where the noise would hide its tails, half on a large one."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from tabsynth.dp.accounting import DEFAULT_DELTA_CAP, preprocessing_sigmas
from tabsynth.dp.domain import plan_mechanisms
from tabsynth.dp.schema_release import FAMILY_CELLS
from tabsynth.dp.start import DOMAIN_SHARES, Budget, domain_share, learn_private_schema
from tabsynth.synthesizers import make_synthesizer

LEFT_TO_THE_DATA = Budget(1.0, None, "rdp", None)


def _visits(rows: int, seed: int = 3) -> pd.DataFrame:
    """Counts, amounts and codes, a third of each column missing."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "pages": rng.poisson(4, rows),
        "seconds": np.round(rng.lognormal(4, 1.2, rows), 1),
        "browser": rng.choice(["a", "b", "c"], rows),
        "region": rng.integers(1, 9, rows),
        "bounce": np.round(rng.uniform(0, 0.2, rows), 3),
    })
    for column in frame.columns:
        frame.loc[rng.random(rows) < 1 / 3, column] = None
    return frame


def test_the_schema_release_reads_the_row_count_from_its_family_histograms() -> None:
    """Each column's family histogram, its missing cell included, sums to the row count: a
    count without the missing cells would be a third short."""
    rows = 4000
    _, release = learn_private_schema(_visits(rows), LEFT_TO_THE_DATA, None)
    one_column_width = release.sigma * math.sqrt(len(FAMILY_CELLS))
    assert 3 * one_column_width < rows / 3
    assert abs(release.rows - rows) < 3 * one_column_width, (release.rows, one_column_width)


def test_the_domain_gets_more_of_epsilon_where_its_noise_is_large_next_to_the_rows() -> None:
    low, high = DOMAIN_SHARES
    shares = [domain_share(LEFT_TO_THE_DATA, 60, 15, rows)
              for rows in (1_000, 10_000, 20_000, 40_000, 400_000)]
    assert shares[0] == high and shares[-1] == low
    assert all(a >= b for a, b in itertools.pairwise(shares))
    assert low < shares[2] < high
    # more columns, more noise per row: the same rows get a larger share
    assert domain_share(LEFT_TO_THE_DATA, 120, 30, 20_000) > shares[2]
    # a share the user set is kept; without a released row count, half
    assert domain_share(Budget(1.0, None, "rdp", 0.3), 60, 15, 1_000) == 0.3
    assert domain_share(LEFT_TO_THE_DATA, 60, 15, None) == low


def test_a_small_table_fitted_by_default_spends_the_larger_share_on_its_domain() -> None:
    frame = _visits(1500)
    synthesizer = make_synthesizer("autoregressive", epsilon=1.0, epochs=1)
    synthesizer.fit(frame, synthesizer.infer_schema(frame))
    mechanisms, unknown = plan_mechanisms(synthesizer.schema, {})
    planned = {share: preprocessing_sigmas(1.0, DEFAULT_DELTA_CAP, mechanisms, unknown, share)[0]
               for share in DOMAIN_SHARES}
    assert synthesizer.plan.sigma_preprocessing == planned[DOMAIN_SHARES[1]]
    assert planned[DOMAIN_SHARES[1]] < planned[DOMAIN_SHARES[0]]
    assert "chosen from the row count read" in synthesizer.privacy_claim.notes
    declared = make_synthesizer("autoregressive", epsilon=1.0, epochs=1).fit(
        frame, synthesizer.schema)
    assert declared.plan.sigma_preprocessing == planned[DOMAIN_SHARES[0]]
    assert "chosen from the row count read" not in declared.privacy_claim.notes
    gan = make_synthesizer("dp-gan", epsilon=1.0, epochs=1)
    assert gan.budget.preprocessing_share == 0.5  # the GAN keeps its own split
