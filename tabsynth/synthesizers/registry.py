"""Every method in one place: its name, what it learns and discloses, its note for the page, its
defaults and the options it accepts. The CLI, the page, run settings, `make_synthesizer` and the
README's method table read this; importing it loads no model library (torch, SDV)."""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tabsynth.errors import ConfigError

if TYPE_CHECKING:
    from tabsynth.synthesizers.base import Synthesizer

# the options a method may accept; each method lists those it takes
OPTIONS = ("epochs", "batch_size", "device", "epsilon", "delta", "public", "seed", "target",
           "workers")


@dataclass(frozen=True)
class MethodInfo:
    """What a method is and takes. `dp` says how it relates to differential privacy: "never",
    "optional" (no DP unless an epsilon is given) or "default" (DP unless epsilon is inf)."""

    name: str
    module: str  # the module of its class, imported only when a model is built
    class_name: str
    learns: str  # for the README's method table
    discloses: str  # what a fitted model reveals (report.json run.discloses)
    guarantee: str  # the formal privacy guarantee, in a few words
    note: str  # the page's note under the method choice
    options: frozenset[str] = frozenset()
    defaults: dict[str, Any] = field(default_factory=dict)  # used when an option is not given
    page_epochs: int | None = None  # what the page suggests for a first run (None: automatic)
    dp: str = "never"

    def private(self, epsilon: float | None) -> bool:
        """Whether a run with this epsilon (None: the method's default) makes a DP claim."""
        if self.dp == "never":
            return False
        if epsilon is None:
            epsilon = self.defaults.get("epsilon")
        return epsilon is not None and math.isfinite(epsilon)

    def load(self) -> type[Synthesizer]:
        """The method's class (imports its model library)."""
        return getattr(importlib.import_module(self.module), self.class_name)

    def build(self, **options: Any) -> Synthesizer:
        """A new model: the options this method accepts, its defaults for those not given."""
        chosen = {**self.defaults, **{k: v for k, v in options.items()
                                      if k in self.options and v is not None}}
        return self.load()(**chosen)


_REGISTRY = (
    MethodInfo(
        name="faker", module="tabsynth.synthesizers.faker_only", class_name="FakerSynthesizer",
        learns="each column's domain only; columns drawn independently",
        discloses="each column's domain: the set of category values, numeric minimum and "
                  "maximum, date range, and missing-value rates; no frequencies and no "
                  "relationships",
        guarantee="none (but no joint structure)",
        note="Schema only: every column drawn on its own from its domain. Protects "
             "relationships entirely; discloses each column's categories, range and missing "
             "rate.",
        options=frozenset({"device"})),
    MethodInfo(
        name="gaussian-copula", module="tabsynth.synthesizers.gaussian_copula",
        class_name="GaussianCopula",
        learns="marginals + correlations (SDV `GaussianCopulaSynthesizer`)",
        discloses="each column's marginal distribution (fitted parameters, category "
                  "frequencies, ranges) and the correlation matrix; no formal privacy guarantee",
        guarantee="none",
        note="SDV Gaussian copula: marginals + correlations, fast. Discloses fitted marginals "
             "and correlations; no formal privacy guarantee.",
        options=frozenset({"device"})),
    MethodInfo(
        name="ctgan", module="tabsynth.synthesizers.ctgan", class_name="Ctgan",
        learns="a conditional GAN (SDV `CTGANSynthesizer`; GPU when present)",
        discloses="a neural network fitted to the data (it can memorise rare rows) plus each "
                  "numeric column's mixture model and category values; no formal privacy "
                  "guarantee",
        guarantee="none",
        note="SDV CTGAN: a conditional GAN, slower, captures non-linear structure; can memorise "
             "rare rows; no formal privacy guarantee.",
        options=frozenset({"epochs", "batch_size", "device"}),
        defaults={"epochs": 300, "batch_size": 500}, page_epochs=20),
    MethodInfo(
        name="dp-gan", module="tabsynth.synthesizers.dp_gan", class_name="DpGan",
        learns="our conditional GAN trained with DP-SGD (torch + Opacus), GPU when present",
        discloses="with a finite ε: nothing beyond the (ε, δ) guarantee for any one row; with "
                  "ε = ∞ (no differential privacy): a GAN fitted without noise, which can "
                  "memorise rows",
        guarantee="(ε, δ)-DP per row, over preprocessing **and** training",
        note="Our differentially private GAN: an (ε, δ) guarantee for adding or removing any "
             "one training row, over preprocessing and training, with secret OS-seeded noise; "
             "the smaller ε, the stronger the protection and the lower the fidelity.",
        options=frozenset({"epochs", "batch_size", "device", "epsilon", "delta", "public",
                           "seed"}),
        defaults={"epsilon": 3.0, "epochs": 20, "batch_size": 1000}, page_epochs=20,
        dp="default"),
    MethodInfo(
        name="autoregressive", module="tabsynth.synthesizers.autoregressive",
        class_name="Autoregressive",
        learns="our masked autoregressive network (MADE): each column a step with its own token "
               "(category, point mass, quantile bin + position inside the bin on 16 steps: of "
               "equal mass without DP, of equal width with DP or declared bounds; missing), "
               "predicted from the columns before it, `--target` last; maximum likelihood "
               "(early stopping on held-back training rows without DP, a fixed number of DP-SGD "
               "epochs with it, then rows drawn from a 3× pool to match the noisy 1-way "
               "marginals); GPU when present",
        discloses="with differential privacy: nothing beyond the (ε, δ) guarantee for any one "
                  "row and what the claim lists as not covered (the schema, made-up columns, "
                  "the evaluation); without: a model fitted without noise, which can reproduce "
                  "rare rows and holds each number column's quantiles (24 bins of 16 steps)",
        guarantee="without `--epsilon`: none; with it: (ε, δ)-DP per row over the domain "
                  "releases **and** DP-SGD training (Opacus ghost clipping, the DP-GAN's "
                  "accountant and claim)",
        note="Our autoregressive model (the default): each column predicted from the ones "
             "before it, the target last, so it keeps dependences that only show across "
             "several columns; the closest to a fresh real sample on every table we measured. "
             "Without DP it can reproduce rare rows; tick 'Differential privacy' for an (ε, δ) "
             "guarantee.",
        options=frozenset(OPTIONS), dp="optional"),
)
METHODS: dict[str, MethodInfo] = {info.name: info for info in _REGISTRY}
DEFAULT_METHOD = "autoregressive"  # the page's, the CLI's and the API's: the most faithful


def method_info(name: str) -> MethodInfo:
    """The registry entry of `name`; a ConfigError that lists the methods otherwise."""
    try:
        return METHODS[name]
    except KeyError:
        raise ConfigError(f"unknown method {name!r}; choose one of "
                          f"{', '.join(METHODS)}") from None


def methods_taking(option: str) -> list[str]:
    """The methods that accept `option` (for help texts)."""
    return [name for name, info in METHODS.items() if option in info.options]


def method_table() -> str:
    """The README's method table, as Markdown."""
    lines = ["| method | what it learns | what it discloses | privacy guarantee |",
             "|---|---|---|---|"]
    lines += [f"| `{i.name}` | {i.learns} | {i.discloses} | {i.guarantee} |" for i in _REGISTRY]
    return "\n".join(lines)
