"""Generate sample_data/patients.csv: a made-up hospital table that shows every feature.

PII (names, emails, phones, dates of birth, addresses), an identifier, numeric, integer,
categorical, boolean and datetime columns, missing values, and real structure (age -> blood
pressure and diabetes; symptom -> diagnosis; diagnosis -> length of stay). Every person is
invented with Faker; no real data is involved.

    python scripts/make_sample_data.py [--rows 5000] [--seed 7] [--out sample_data/patients.csv]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from faker import Faker

DIAGNOSES = {
    "chest pain": (["angina", "myocardial infarction", "gastritis"], [0.5, 0.3, 0.2]),
    "shortness of breath": (["asthma", "pneumonia", "heart failure"], [0.4, 0.35, 0.25]),
    "fever": (["influenza", "pneumonia", "urinary infection"], [0.5, 0.3, 0.2]),
    "abdominal pain": (["appendicitis", "gastritis", "gallstones"], [0.35, 0.4, 0.25]),
    "headache": (["migraine", "hypertension", "concussion"], [0.55, 0.3, 0.15]),
    "fall": (["fracture", "concussion", "sprain"], [0.45, 0.2, 0.35]),
}
STAY_DAYS = {"angina": 3, "myocardial infarction": 7, "gastritis": 2, "asthma": 2,
             "pneumonia": 6, "heart failure": 8, "influenza": 3, "urinary infection": 3,
             "appendicitis": 4, "gallstones": 3, "migraine": 1, "hypertension": 2,
             "concussion": 2, "fracture": 5, "sprain": 1}


def make_patients(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    admitted = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        rng.integers(0, 365 * 2 * 24 * 60, rows), unit="min")
    age = np.clip(rng.gamma(6.0, 9.0, rows), 0, 99).astype(int)
    birth = admitted.normalize() - pd.to_timedelta(age * 365.25 + rng.integers(0, 365, rows),
                                                   unit="D")
    sex = rng.choice(["F", "M"], rows, p=[0.52, 0.48])
    bmi = np.round(np.clip(rng.normal(24 + 0.06 * age, 4.5), 14, 55), 1)
    smoker = rng.random(rows) < np.where(age < 18, 0.02, 0.22)
    systolic = np.round(100 + 0.45 * age + 0.8 * (bmi - 25) + 6 * smoker
                        + rng.normal(0, 10, rows)).astype(int)
    diabetic = rng.random(rows) < 1 / (1 + np.exp(-(-7.5 + 0.05 * age + 0.12 * bmi)))
    symptom = rng.choice(list(DIAGNOSES), rows, p=[0.18, 0.17, 0.2, 0.15, 0.15, 0.15])
    diagnosis = np.array([rng.choice(DIAGNOSES[s][0], p=DIAGNOSES[s][1]) for s in symptom])
    base_stay = np.array([STAY_DAYS[d] for d in diagnosis])
    stay = np.maximum(1, rng.poisson(base_stay * (1 + age / 120))).astype(int)
    readmit_logit = -3.2 + 0.02 * age + 0.15 * stay + 0.6 * diabetic
    readmitted = rng.random(rows) < 1 / (1 + np.exp(-readmit_logit))
    insurance = rng.choice(["public", "private", "none"], rows, p=[0.55, 0.35, 0.10]).astype(object)
    cholesterol = np.round(150 + 0.9 * age + 2.0 * (bmi - 25) + rng.normal(0, 25, rows), 0)

    names = [fake.name() for _ in range(rows)]
    emails = [_email_for(name, fake) for name in names]
    frame = pd.DataFrame({
        "patient_id": [f"P{n:06d}" for n in rng.choice(900_000, rows, replace=False) + 100_000],
        "name": names,
        "email": emails,
        "phone": [fake.phone_number() for _ in range(rows)],
        "date_of_birth": birth.strftime("%Y-%m-%d"),
        "address": [fake.address().replace("\n", ", ") for _ in range(rows)],
        "sex": sex,
        "age": age,
        "bmi": bmi,
        "smoker": np.where(smoker, "yes", "no"),
        "systolic_bp": systolic,
        "cholesterol": cholesterol,
        "diabetic": np.where(diabetic, "yes", "no"),
        "symptom": symptom,
        "diagnosis": diagnosis,
        "admitted_at": admitted.strftime("%Y-%m-%d %H:%M"),
        "length_of_stay_days": stay,
        "insurance": insurance,
        "readmitted": np.where(readmitted, "true", "false"),
    })
    _knock_out(frame, "bmi", 0.06, rng)
    _knock_out(frame, "cholesterol", 0.12, rng)
    _knock_out(frame, "email", 0.08, rng)
    _knock_out(frame, "insurance", 0.04, rng)
    return frame


def _email_for(name: str, fake: Faker) -> str:
    first, *_, last = name.replace(".", "").split()
    return f"{first.lower()}.{last.lower()}{fake.random_int(1, 99)}@{fake.free_email_domain()}"


def _knock_out(frame: pd.DataFrame, column: str, rate: float, rng: np.random.Generator) -> None:
    frame[column] = frame[column].astype(object)
    frame.loc[rng.random(len(frame)) < rate, column] = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1]
                                             / "sample_data" / "patients.csv"))
    args = parser.parse_args()
    frame = make_patients(args.rows, args.seed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    print(f"wrote {args.out}: {len(frame)} rows x {len(frame.columns)} columns")


if __name__ == "__main__":
    main()
