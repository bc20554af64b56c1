"""The compiled engines behind the privacy checks give the answers of brute force and of
anonymeter; the attacks have power; the roles are suggested, chosen and checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth.errors import ConfigError
from tabsynth.evaluation import attacks
from tabsynth.evaluation.neighbors import MixedIndex, encode_tables
from tabsynth.evaluation.roles import resolve_roles, split_for_linkability, suggest_roles


def _table(rows: int, seed: int, shift: float = 0.0, missing: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"c{i}": rng.choice(list("abcdefg"[: 2 + i % 5]), rows)
                          for i in range(5)})
    frame["x"] = rng.normal(size=rows) + shift
    frame["n"] = rng.integers(0, 30, rows).astype(float)
    if missing:
        frame.loc[rng.random(rows) < 0.15, "n"] = np.nan
        frame.loc[rng.random(rows) < 0.05, "c1"] = None
    return frame


def _brute(reference, queries) -> np.ndarray:
    mismatches = (queries.cat[:, None, :] != reference.cat[None, :, :]).sum(-1)
    gaps = np.abs(queries.num[:, None, :] - reference.num[None, :, :])
    return mismatches + np.where(np.isnan(gaps), 0, gaps).sum(-1)


@pytest.mark.parametrize("horizon", [np.inf, 1.0, 2.5])
def test_neighbours_are_exact(horizon: float) -> None:
    reference, queries = _table(1500, 1), _table(200, 2, shift=0.7)
    encoded = encode_tables(list(reference.columns), reference, [reference, queries])
    full = _brute(*encoded)
    index = MixedIndex(encoded[0], seed=4)
    for k in (1, 3):
        distances, rows = index.query(encoded[1], k=k, horizon=horizon)
        expected = np.sort(full, axis=1)[:, :k]
        expected = np.where(expected < horizon, expected, np.inf)
        assert np.array_equal(np.isinf(distances), np.isinf(expected))
        found = np.isfinite(distances)
        assert np.allclose(distances[found], expected[found])
        picked = full[np.arange(len(rows))[:, None], rows]
        assert np.allclose(picked[found], distances[found])  # the rows named are that near
        assert all(len(set(r[f])) == f.sum() for r, f in zip(rows, found, strict=True))


def test_neighbours_match_anonymeter() -> None:
    import anonymeter.evaluators  # noqa: F401  (first, or its neighbours module fails to import)
    from anonymeter.neighbors.mixed_types_kneighbors import MixedTypeKNeighbors

    synthetic, targets = _table(800, 5, missing=False), _table(150, 6, shift=0.3, missing=False)
    theirs = MixedTypeKNeighbors(n_neighbors=1, n_jobs=1).fit(synthetic)
    their_distance = theirs.kneighbors(targets, return_distance=True)[0][:, 0]
    encoded = encode_tables(list(synthetic.columns), synthetic, [synthetic, targets],
                            scaling="range")
    ours = MixedIndex(encoded[0]).query(encoded[1], k=1)[0][:, 0]
    assert np.allclose(ours, their_distance)


def test_query_counts_match_brute_force() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(-1, 6, (3000, 4))
    coded = attacks.Coded.of(codes)
    cols = np.sort(np.argsort(rng.random((500, 4)), axis=1)[:, :3], axis=1)
    ops = rng.integers(0, 8, cols.shape)
    values = rng.integers(0, 6, cols.shape)
    expected = []
    for col, op, value in zip(cols, ops, values, strict=True):
        match = np.ones(len(codes), bool)
        for c, o, v in zip(col, op, value, strict=True):
            x = codes[:, c]
            present = x >= 0
            match &= {0: x == v, 1: present & (x != v), 2: x >= v, 3: present & (x <= v),
                      4: x > v, 5: present & (x < v), 6: ~present, 7: present}[int(o)]
        expected.append(min(int(match.sum()), 2))
    assert coded.count(cols, ops, values, cap=2).tolist() == expected


def test_attacks_find_a_copied_table() -> None:
    train, holdout = _table(3000, 7, missing=False), _table(2000, 8, missing=False)
    train["secret"] = np.where(train["x"] > 0, "yes", "no")
    holdout["secret"] = np.where(holdout["x"] > 0, "yes", "no")
    train["secret"] = np.random.default_rng(0).permutation(train["secret"].to_numpy())
    holdout["secret"] = np.random.default_rng(1).permutation(holdout["secret"].to_numpy())
    copied = attacks.inference(train, train, holdout, ["c0", "c1", "c2", "x"], "secret", 2000,
                               seed=0)
    fresh = attacks.inference(holdout.iloc[:1000], train, holdout.iloc[1000:],
                              ["c0", "c1", "c2", "x"], "secret", 2000, seed=0)
    assert copied["main_rate"] > 0.95 and copied["ci"][0] > 0.8
    assert fresh["ci"][0] == 0.0 and fresh["n_attacks"] == 2000
    linked = attacks.linkability(train, train, holdout, (["c0", "x"], ["c1", "c2", "n"]), 2000,
                                 10, seed=0)
    assert linked["risk"] > 0.5 and linked["n_control_attacks"] == 2000


def test_roles_are_suggested_from_names_and_checked() -> None:
    columns = ["age", "sex", "zip_code", "visit_date", "diagnosis", "AnnualIncome", "notes",
               "score"]
    roles = suggest_roles(columns, target="score")
    assert roles.quasi_identifiers == ["age", "sex", "zip_code", "visit_date"]
    assert roles.secrets == ["score", "diagnosis", "AnnualIncome"]
    assert roles.quasi_identifiers_origin.startswith("suggested:")
    assert "zip_code: postcode" in roles.quasi_identifiers_origin
    chosen = resolve_roles(columns, "score", quasi_identifiers=["sex", "age"])
    assert chosen.quasi_identifiers == ["sex", "age"]
    assert chosen.quasi_identifiers_origin == "chosen by you"
    assert chosen.secrets_origin.startswith("suggested:")
    with pytest.raises(ConfigError, match="--secrets: no column named 'nope'"):
        resolve_roles(columns, secrets=["diagnosis", "nope"])
    with pytest.raises(ConfigError, match="--quasi-identifiers: column 'email' is regen"):
        resolve_roles(columns, quasi_identifiers=["email"],
                      unavailable={"email": "is regenerated"})


def test_one_suggested_quasi_identifier_means_the_attacker_knows_every_other_column() -> None:
    """online_shoppers' names suggest one quasi-identifier (Region): with it alone linkability
    could not run, so the attacker is assumed to know every column but the secrets."""
    columns = ["Administrative", "ProductRelated_Duration", "BounceRates", "Region", "Month",
               "Revenue"]
    roles = suggest_roles(columns, target="Revenue")
    assert roles.quasi_identifiers == [c for c in columns if c != "Revenue"]
    assert "only Region (location) looks like one" in roles.quasi_identifiers_origin
    assert "too few for the linkability attack" in roles.quasi_identifiers_origin
    none = suggest_roles(["a", "b", "c"], target="c")
    assert none.quasi_identifiers == ["a", "b"]
    assert "no column name looks like one" in none.quasi_identifiers_origin


def test_linkability_runs_on_a_table_with_one_suggested_quasi_identifier() -> None:
    from tabsynth.evaluation.privacy import PrivacySettings, evaluate_privacy

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"Region": rng.integers(1, 9, 600), "pages": rng.poisson(5, 600),
                          "duration": rng.gamma(2.0, 30.0, 600).round(1),
                          "Revenue": rng.choice(["yes", "no"], 600)})
    train, holdout = frame.iloc[:400].reset_index(drop=True), frame.iloc[400:].reset_index(
        drop=True)
    result = evaluate_privacy(train, holdout, train.copy(), target="Revenue",
                              settings=PrivacySettings(n_attacks=200, singling_out_queries=100))
    linkability = result.linkability
    assert linkability.get("not_applicable") is None and linkability["risk"] is not None


def test_linkability_split_balances_identifying_information() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.integers(0, 2, 500), "b": rng.integers(0, 2, 500),
                          "c": rng.integers(0, 2, 500), "wide": rng.integers(0, 64, 500)})
    first, second = split_for_linkability(["a", "b", "c", "wide"], frame)
    assert sorted(first + second) == ["a", "b", "c", "wide"]
    assert "wide" in first and set(second) <= {"a", "b", "c"} and len(second) >= 2
