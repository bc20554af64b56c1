"""The base of every synthesizer with an optional (epsilon, delta) guarantee.

One private fit routine runs dp/'s plan around each model's training step: check the public
names, release the row count and plan the budget (``begin``), take the made-up columns' missing
rates from their noisy counts, let the model train (``_fit_private``), then record the noisy
releases and state the claim. Without DP (epsilon inf) the model fits through the plain
:class:`Synthesizer` routine (``_fit_learned``).
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import pandas as pd

from tabsynth.dp.accounting import BudgetPlan, epsilon_of, spent_epsilon
from tabsynth.dp.claim import (
    RANDOMNESS,
    PrivacyClaim,
    not_covered,
    range_notes,
    residual_risks,
)
from tabsynth.dp.public import PublicColumn, with_public_kinds
from tabsynth.dp.ranges import GRID_RELEASES, LEVELS
from tabsynth.dp.settings import checked_epsilon
from tabsynth.dp.start import (
    Budget,
    SchemaRelease,
    Start,
    begin,
    check_public_names,
    learn_private_schema,
    private_dtypes,
)
from tabsynth.progress import ProgressCallback, ProgressEvent, StopCheck
from tabsynth.regenerate import RegenerationState
from tabsynth.schema import Schema, with_choices
from tabsynth.synthesizers.base import Synthesizer
from tabsynth.synthesizers.saved import (
    claim_from_dict,
    claim_to_dict,
    public_from_dict,
    public_to_dict,
)


class DpSynthesizer(Synthesizer):
    """Budget, DP settings check, the private fit routine, the claim and the output size.

    A DP fit's output dtypes come from the schema, since whether a training column held missing
    values (which turns int64 into float64) is not released. Subclasses set ``epochs`` and
    ``batch_size`` and say what their gradient noise is added to (``noised``).
    """

    noised: ClassVar[str]  # what the training noise is added to, in the claim's notes
    epochs: int
    batch_size: int
    plan: BudgetPlan | None = None
    _claim: PrivacyClaim | None = None
    _released_rows: int | None = None
    _schema_release: SchemaRelease | None = None
    _schema_choices: list[str] | None = None

    def __init__(self, epsilon: float | None, delta: float | None, accountant: str,
                 preprocessing_share: float | None, public: dict[str, PublicColumn] | None,
                 device: str = "auto") -> None:
        super().__init__(device)
        self.budget = Budget(checked_epsilon(epsilon, delta, accountant), delta, accountant,
                             preprocessing_share, public or {})
        self.plan = None
        self._claim = None
        self._released_rows = None

    def _budget_settings(self) -> dict[str, Any]:
        """The DP settings as constructor arguments (part of `_settings`)."""
        return {"epsilon": self.budget.epsilon, "delta": self.budget.delta,
                "accountant": self.budget.accountant,
                "preprocessing_share": self.budget.preprocessing_share,
                "public": public_to_dict(self.budget.public)}

    @classmethod
    def _settings_from_file(cls, settings: dict[str, Any]) -> dict[str, Any]:
        return {**settings, "public": public_from_dict(settings.get("public"))}

    def _fit_state(self) -> dict[str, Any]:
        """The claim and the released row count: DP releases (noisy), or exact without DP."""
        return {"privacy_claim": claim_to_dict(self._claim),
                "released_rows": self._released_rows}

    def _restore_fit(self, description: dict[str, Any]) -> None:
        super()._restore_fit(description)
        self._claim = claim_from_dict(description.get("privacy_claim"))
        rows = description.get("released_rows")
        self._released_rows = None if rows is None else int(rows)

    def infer_schema(self, frame: pd.DataFrame, target: str | None = None,
                     choices: dict[str, dict[str, Any]] | None = None) -> Schema:
        """In a DP fit, the schema is learned from noisy counts charged to this fit's budget
        (composed before the domain and the training), then the user's own edits are applied
        (declared by the user, named in the claim); otherwise inferred as usual."""
        if not self.private:
            return super().infer_schema(frame, target, choices)
        learned, self._schema_release = learn_private_schema(frame, self.budget, None)
        schema = with_choices(with_public_kinds(learned, self.budget.public), choices or {})
        schema.target = target
        schema.check_against(frame)
        self._schema_choices = sorted(choices or {})
        return schema

    @property
    def schema_learned_privately(self) -> bool:
        return self._schema_release is not None

    @property
    def epsilon(self) -> float:
        return self.budget.epsilon

    @property
    def public(self) -> dict[str, PublicColumn]:
        return self.budget.public

    @property
    def private(self) -> bool:
        return self.budget.private

    @property
    def privacy_claim(self) -> PrivacyClaim | None:
        return self._claim

    @property
    def released_rows(self) -> int | None:
        return self._released_rows

    def _share_notes(self) -> str:
        """Where the domain's share of epsilon came from, when it was left to the data."""
        if self.budget.preprocessing_share is not None or not self.schema_learned_privately:
            return ""
        return (" The count releases' share of epsilon was chosen from the row count read "
                "from the schema's noisy histograms (more on a small table).")

    def _output_dtypes(self, train: pd.DataFrame) -> dict[str, str]:
        if not self.private:
            return super()._output_dtypes(train)
        assert self.schema is not None
        return private_dtypes(self.schema)

    def _fit_all(self, train: pd.DataFrame, regenerated: list[str], emit: ProgressCallback,
                 should_stop: StopCheck) -> None:
        """Row count, budget plan, missing rates, then the model's private training, the claim.

        Every release goes through one SecretNoise (OS-seeded, local to this fit) and every
        quantity derived from the table's size uses the noisy row count.
        """
        if not self.private:
            super()._fit_all(train, regenerated, emit, should_stop)
            return
        assert self.schema is not None
        learned = [c.name for c in self.schema.learned]
        check_public_names(self.budget.public, learned)
        extra_mechanisms, extra_share = self._extra_mechanisms(len(learned))
        start = begin(train, self.schema, regenerated, self.budget, self.batch_size,
                      self.epochs, extra_mechanisms, extra_share, self._schema_release)
        self.plan = start.plan
        self._released_rows = round(start.rows)
        self._regen_state = {name: RegenerationState(rate)
                             for name, rate in start.missing_rates.items()}
        self.fit_info = {"private": True, "steps": start.steps,
                         "sample_rate": start.sample_rate, "batch_size": start.batch}
        if learned:
            self._fit_private(train[learned], start, emit, should_stop)
        else:
            emit(ProgressEvent("fit", 1.0, "no learned column: every column is regenerated"))
        assert start.noise is not None
        releases = dict(self._schema_release.releases) if self._schema_release else {}
        self.fit_info["noisy_releases"] = {**releases, **start.noise.releases}
        _check_releases(start.noise.releases, start.plan, self._schema_release)
        self.fit_info.update(self._accounting_info(start))
        self._claim = self._claim_from(start, regenerated)
        self._schema_release = self._schema_choices = None  # a later fit learns its own

    def _extra_mechanisms(self, columns: int) -> tuple[int, float]:
        """Gaussian releases the model makes besides the domain's, and their budget share."""
        return 0, 0.0

    @abc.abstractmethod
    def _fit_private(self, train: pd.DataFrame, start: Start, emit: ProgressCallback,
                     should_stop: StopCheck) -> None:
        """The model's DP training on the learned columns, within ``start``'s plan."""

    def _accounting_info(self, start: Start) -> dict[str, Any]:
        """What a DP fit records of its accounting besides the noisy releases."""
        assert start.plan is not None
        return {"noise_multiplier": start.plan.sigma_training}

    def _extra_notes(self, plan: BudgetPlan) -> str:
        """The claim's notes on the model's own releases (after the count releases)."""
        return ""

    @staticmethod
    def _schema_notes(plan: BudgetPlan) -> str:
        if not plan.schema_mechanisms:
            return ""
        return (f"; the schema from {plan.schema_mechanisms} discrete Gaussian count releases "
                f"(sigma {plan.sigma_schema:.1f}: per column its value families, their "
                "details and its number of distinct values)")

    def _claim_from(self, start: Start, regenerated: list[str]) -> PrivacyClaim:
        plan = start.plan
        assert plan is not None
        total = spent_epsilon(start.accountant, plan.delta_accountant)
        pre = epsilon_of(plan.domain_history, plan.delta_accountant, plan.accountant)
        schema = epsilon_of(plan.schema_history, plan.delta_accountant, plan.accountant)
        marginals = epsilon_of(plan.pair_history, plan.delta_accountant, plan.accountant)
        training = epsilon_of(plan.training_history(start.steps), plan.delta_accountant,
                              plan.accountant)
        notes = (f"delta = {plan.delta_accountant:.3g} (accountant) + {plan.delta_threshold:.3g} "
                 "(category/value release thresholds); noise multiplier "
                 f"{plan.sigma_training:.3f} on {self.noised} for {start.steps} Poisson-sampled "
                 f"steps at rate {plan.sample_rate:.4g}; {plan.mechanisms} discrete Gaussian "
                 f"count releases (sigma {plan.sigma_preprocessing:.1f}: the row count, "
                 "histograms: per category or yes/no column its values; per number, date or "
                 f"whole-number-category column its exact values and {LEVELS} fixed grid "
                 f"levels{_grid_releases()}; missing counts of made-up columns)"
                 f"{self._schema_notes(plan)}"
                 f"{self._extra_notes(plan)}. "
                 "The sampling rate, default delta and default number of output rows come from "
                 f"the noisy row count.{self._share_notes()}")
        return PrivacyClaim(epsilon=total, delta=plan.delta, accountant=plan.accountant,
                            epsilon_preprocessing=pre, epsilon_training=training,
                            epsilon_marginals=marginals, epsilon_schema=schema,
                            schema_learned=self.schema_learned_privately,
                            not_covered=not_covered(self.budget.public, regenerated,
                                                    self.schema_learned_privately,
                                                    self._schema_choices or []),
                            residual_risks=residual_risks(plan.accountant),
                            randomness=RANDOMNESS, notes=notes,
                            range_notes=range_notes(self.fit_info.get("domain_warnings") or {},
                                                    total))


def _grid_releases() -> str:
    """How often the grid levels are released, where that is more than once each."""
    return "" if GRID_RELEASES == LEVELS else f" ({GRID_RELEASES} releases in all)"


def _check_releases(releases: dict[str, int], plan: BudgetPlan | None,
                    schema: SchemaRelease | None) -> None:
    """Every noisy release the fit made (``releases``; a schema learned under DP made its own,
    ``schema``) is one the accountant charged, and the other way round; a mismatch is a defect
    in this program, and no model comes out of it."""
    pairs = releases.get("pair table", 0)
    counted = sum(count for kind, count in releases.items() if kind != "pair table")
    schema_counted = sum(schema.releases.values()) if schema else 0
    if plan is None or counted != plan.mechanisms or pairs != plan.pair_mechanisms \
            or schema_counted != (schema.mechanisms if schema else 0):
        raise RuntimeError("the noisy releases of this fit differ from what its privacy "
                           "accounting charged; the fit is stopped and nothing is kept")
