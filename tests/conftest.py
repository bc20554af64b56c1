"""Shared fixtures: tables we generate ourselves, and small public tables under tests/data."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from faker import Faker

if TYPE_CHECKING:
    from tabsynth.jobs import JobSpec

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"  # public tables committed with their source and licence


def luhn_complete(prefix: str, rng: np.random.Generator, length: int = 16) -> str:
    """A card number of `length` digits with a valid Luhn check digit."""
    body = prefix + "".join(str(d) for d in rng.integers(0, 10, length - len(prefix) - 1))
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return body + str((10 - total % 10) % 10)


def make_pii_table(rows: int = 400, seed: int = 3) -> pd.DataFrame:
    """PII under neutral headers, next to learnable columns with structure."""
    rng = np.random.default_rng(seed)
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    who = [fake.name() for _ in range(rows)]
    segment = rng.choice(["retail", "corporate", "public"], rows, p=[0.6, 0.3, 0.1])
    spend = np.round(rng.gamma(2.0, 50.0, rows) * np.where(segment == "corporate", 3, 1), 2)
    return pd.DataFrame({
        "who": who,
        "contact": [f"{n.split()[0].lower()}.{i}@mail{i % 7}.example.org"
                    for i, n in enumerate(who)],
        "c7": [fake.email() for _ in range(rows)],
        "x3": [luhn_complete(rng.choice(["4", "51", "37"]), rng) for _ in range(rows)],
        "n1": [f"10.{rng.integers(0, 256)}.{rng.integers(0, 256)}.{rng.integers(1, 255)}"
               for _ in range(rows)],
        "segment": segment,
        "spend": spend,
        "visits": rng.poisson(3 + (spend / 100)).astype(int),
        "active": rng.choice(["yes", "no"], rows),
        "joined": (pd.Timestamp("2022-01-01")
                   + pd.to_timedelta(rng.integers(0, 700, rows), unit="D")).strftime("%Y-%m-%d"),
    })


def job_spec(method: str, owner: str, **config) -> JobSpec:
    """A page job on make_pii_table(400) with seed 1 and the given settings."""
    from tabsynth.jobs import JobSpec

    data = make_pii_table(rows=400).to_csv(index=False).encode()
    return JobSpec(data=data, filename="people.csv", owner=owner,
                   config={"method": method, "seed": 1, **config})


PII_COLUMNS = {"who": "person_name", "contact": "email", "c7": "email", "x3": "credit_card",
               "n1": "ip_address"}


@pytest.fixture(scope="session")
def pii_table() -> pd.DataFrame:
    return make_pii_table()


@pytest.fixture(scope="session")
def pii_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "people.csv"
    make_pii_table().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def census_path() -> Path:
    path = TEST_DATA / "census.csv.gz"
    if not path.is_file():
        pytest.fail(f"test table missing: {path} (see tests/data/README.md)")
    return path


def run_cli(*args: str, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run `python -m tabsynth.cli ...` in a subprocess, as a user would."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "tabsynth.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd or ROOT, env=env)


def wait_until(condition, seconds: float = 240.0, poll=None) -> None:
    """Poll until condition() is true (refreshing with poll() first), failing after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if poll is not None:
            poll()
        if condition():
            return
        time.sleep(0.2)
    pytest.fail("condition not reached in time")


@pytest.fixture()
def spawn_safe_main(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain __main__ while a test starts worker processes: Streamlit's AppTest leaves its
    script as __main__, and a spawned worker would run that script again and die."""
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


@pytest.fixture(autouse=True)
def ray_stays_unloaded(request: pytest.FixtureRequest):
    """A test not marked `ray` never imports Ray (checked when no earlier test of this session
    loaded it): local runs, the default, must work without it."""
    loaded_before = "ray" in sys.modules
    yield
    if not loaded_before and request.node.get_closest_marker("ray") is None:
        assert "ray" not in sys.modules, f"{request.node.nodeid} imported Ray"
