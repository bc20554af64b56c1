"""A DP fit's claim: the guarantee's figures, its scope, residual risks and randomness."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tabsynth.formatting import score, small

RESIDUAL_RISKS = (
    "the gradient noise, the Poisson sampling masks and the initial weights come from the "
    "training library's random generators, seeded from the operating system but not "
    "cryptographically secure (a cryptographically secure generator for it does not exist for "
    "the library version used)",
    "the gradient noise is floating-point Gaussian: no snapping or discrete mechanism guards "
    "it against floating-point attacks (Mironov 2012); integer counts use a discrete "
    "Gaussian",
    "the count noise and the holdout coin flips come from a standard (PCG64) random "
    "generator, seeded from the operating system but not cryptographically secure, and the "
    "discrete Gaussian's acceptance test runs in floating point (its distribution is off by "
    "about 1e-16, relatively)",
)
PRV_COUNTS_RISK = ("the PRV accountant composes the discrete Gaussian count releases as if they "
                   "were continuous Gaussians, which understates δ by under 1 % at the noise "
                   "used here (the RDP accountant bounds them exactly)")
RANDOMNESS = ("every random draw the guarantee relies on (count and histogram noise, 2-way "
              "table noise where the method uses it, gradient noise, Poisson sampling, the "
              "holdout coin flips, and the input's sampling coin flips when you set a "
              "sampling rate) came from "
              "fresh seeds read from the operating system and never recorded; the run's seed "
              "only fixes sampling from the fitted model, and made-up columns are drawn from a "
              "secret key of the fit, never saved")


def residual_risks(accountant: str) -> tuple[str, ...]:
    return RESIDUAL_RISKS + ((PRV_COUNTS_RISK,) if accountant == "prv" else ())


SCHEMA_DECLARED = ("the schema as given (column kinds, number of decimals, date formats and "
                   "granularity (whole days, hours, minutes), yes/no spellings, key shapes, "
                   "which columns are personal data): it was declared "
                   "or reviewed by you and is treated as public knowledge, not learned with "
                   "privacy")
SCHEMA_LEARNED = ("the column names and their order (the header row); the column kinds and "
                  "formats were learned from noisy counts within this guarantee")


READING_PUBLIC = ("how the input was read: its encoding, delimiter and header row, and whether "
                  "every row parses, decided from every row of the input and treated as public")
SAMPLING_PUBLIC = ("the sampling rate you set, treated as public (choose it without the row "
                   "count in mind), and whether the sample fit the reading limits")


def not_covered(public: dict, regenerated: list[str], schema_learned: bool = False,
                choices: list[str] | tuple[str, ...] = ()) -> tuple[str, ...]:
    """What a DP fit's claim does not cover: the schema (or only the header, when the schema was
    learned under DP), the reports, the holdout, progress, public values and made-up columns."""
    items = [SCHEMA_LEARNED if schema_learned else SCHEMA_DECLARED]
    if choices:
        items.append("your own edits to the proposed schema, used as given: whether to include, "
                     "make up or treat as personal data the columns, their kind and whether "
                     "their missing-value codes are read as missing, for "
                     + ", ".join(choices))
    items += [
             "the review report (report.json / report.html): it compares the synthetic "
             "rows with the real ones and holds real statistics; only the release report "
             "travels with the data",
             "the evaluation figures in the release report (scores and rates rounded to two "
             "decimals, no row or attack counts), none differentially "
             "private: fidelity compares the synthetic rows with the training rows; utility "
             "trains a model on the synthetic rows and tests it on the holdout rows; the "
             "attack risks, membership inference and the near-copy, distance and exact-copy "
             "rates compare the synthetic rows with the training and the holdout rows. "
             "Figures that compare real rows with real rows (the holdout against the "
             "training rows) are left out of a differentially private release",
             "the holdout rows: they were set aside by secret coin flips and never seen "
             "by the model, but the evaluation measures them",
             "the progress shown while training (the operator's screen only)",
             READING_PUBLIC]
    if public:
        items.append("values declared public, which are used as given: "
                     + ", ".join(sorted(public)))
    if regenerated:
        items.append("made-up columns (" + ", ".join(regenerated) + "): drawn independently "
                     "of the data, except that a made-up value equal to a real value of any "
                     "made-up column (training and holdout rows) is drawn again, so no real "
                     "value of those columns ships")
    return tuple(items)


def range_notes(column_notes: dict[str, str], epsilon: float) -> tuple[str, ...]:
    """Each column's domain note (what the noise coarsened or cut, dp/domain.py), named and
    with the ε the run spent, written as everywhere else: "Age: the lowest 3 % … at ε = 0.999"."""
    return tuple(f"{name}: {note.replace('this ε', f'ε = {score(epsilon)}')}"
                 for name, note in column_notes.items() if note)


UNIT = "adding or removing one row of the training split"


def sampled_input_words(rate: float, epsilon: float, delta: float) -> str:
    """What the unit means when the input was read as a Poisson sample at a rate set by the
    user: the training rows are a secret sample of the input's, so every input row is protected
    too, more strongly (amplification by Poisson subsampling, Balle, Barthe & Gaboardi 2018:
    ε' = ln(1 + rate·(e^ε − 1)), δ' = rate·δ), both rounded up as written."""
    amplified = math.log1p(rate * math.expm1(epsilon))
    shown = (score(_up(amplified, 3, decimals=True)) if amplified >= 0.001
             else small(_up(amplified, 2)))
    return (f"; each input row was kept with probability {rate:g} by a secret coin flip before "
            f"the split, so for adding or removing one row of the input the guarantee is "
            f"ε = {shown} and δ = {small(_up(rate * delta, 2))} (amplification by Poisson "
            f"sampling)")


def _up(value: float, digits: int, decimals: bool = False) -> float:
    """`value` rounded up at `digits` decimals, or significant digits: a guarantee is never
    written stronger than it is."""
    if value <= 0:
        return value
    places = digits if decimals else digits - 1 - math.floor(math.log10(value))
    return math.ceil(value * 10 ** places - 1e-9) / 10 ** places


@dataclass(frozen=True)
class PrivacyClaim:
    """A formal differential-privacy guarantee, as the accountant computed it, and its scope."""

    epsilon: float
    delta: float
    accountant: str
    epsilon_preprocessing: float
    epsilon_training: float
    epsilon_marginals: float = 0.0
    epsilon_schema: float = 0.0  # the schema's releases, when it was learned under DP
    schema_learned: bool = False
    unit: str = UNIT
    not_covered: tuple[str, ...] = ()
    residual_risks: tuple[str, ...] = ()
    randomness: str = ""
    notes: str = ""
    # per column, what the privacy noise made the domain coarsen or cut (from noisy counts)
    range_notes: tuple[str, ...] = ()

    @property
    def group_privacy(self) -> str:
        return (f"a person with k rows in the training split is protected at k·ε, with δ "
                f"growing to k·e^((k−1)ε)·δ (k = 2: ε = {2 * self.epsilon:.3g}, "
                f"δ = {2 * math.exp(self.epsilon) * self.delta:.2g}); the guarantee is per "
                f"row, not per person")

    def plain_words(self) -> str:
        """The guarantee in one paragraph a compliance officer can check against the figures."""
        return (f"Differential privacy with ε = {self.epsilon:.3g} and δ = {self.delta:.2g} "
                f"(accountant: {self.accountant}): whether or not any one row of the training "
                f"split was used, the probability of any synthetic table and fitted model this "
                f"run could produce changes by at most a factor e^ε ≈ "
                f"{math.exp(self.epsilon):.3g}, apart from a probability δ. Smaller ε is "
                f"stronger. {self._schema_words} It covers what was learned from the "
                f"training rows; the evaluation and the items under 'not covered' are outside "
                f"it.")

    @property
    def _schema_words(self) -> str:
        if self.schema_learned:
            return ("The column kinds and formats were learned from the training rows within "
                    "this guarantee.")
        return "It holds for the schema as declared, which is treated as public."

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["not_covered"], data["residual_risks"] = (list(self.not_covered),
                                                       list(self.residual_risks))
        data["range_notes"] = list(getattr(self, "range_notes", ()))
        data["group_privacy"] = self.group_privacy
        data["plain"] = self.plain_words()
        return data
