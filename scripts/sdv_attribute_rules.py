"""Write tabsynth/synthesizers/sdv_classes.py: the classes a saved SDV model may hold and, per
class and attribute, the objects, classes and named tuples it may hold there.

Run after upgrading sdv, rdt, copulas, ctgan, scikit-learn or torch (the model file records their
versions and refuses others):

    python scripts/sdv_attribute_rules.py > tabsynth/synthesizers/sdv_classes.py

The rules are what fits of both SDV methods hold, before and after drawing rows, on a table with
every kind of column (numbers with missing values, a constant number, whole numbers, dates,
yes/no, categories with missing values); copulas' univariate distributions stand in for one
another.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tabsynth.schema import coerce_frame, infer_schema
from tabsynth.synthesizers import make_synthesizer, sdv_state

# the classes a fit may hold (each must be met in the fits to be listed)
CANDIDATES = {
    "sdv.single_table.copulas": ["GaussianCopulaSynthesizer"],
    "sdv.single_table.ctgan": ["CTGANSynthesizer"],
    "sdv.data_processing.data_processor": ["DataProcessor"],
    "sdv.data_processing.numerical_formatter": ["NumericalFormatter"],
    "sdv.data_processing.datetime_formatter": ["DatetimeFormatter"],
    "sdv.metadata.metadata": ["Metadata"],
    "sdv.metadata._single_table": ["_SingleTableMetadata"],
    "rdt.hyper_transformer": ["HyperTransformer"],
    "rdt.transformers.categorical": ["UniformEncoder", "OneHotEncoder", "LabelEncoder"],
    "rdt.transformers.ordinal": ["OrderedUniformEncoder"],
    "rdt.transformers.boolean": ["BinaryEncoder"],
    "rdt.transformers.datetime": ["UnixTimestampEncoder", "OptimizedTimestampEncoder"],
    "rdt.transformers.null": ["NullTransformer"],
    "rdt.transformers.numerical": ["FloatFormatter", "ClusterBasedNormalizer"],
    "copulas.multivariate.gaussian": ["GaussianMultivariate"],
    "copulas.univariate.base": ["Univariate"],
    "ctgan.synthesizers.ctgan": ["CTGAN", "Generator", "Residual"],
    "ctgan.data_sampler": ["DataSampler"],
    "ctgan.data_transformer": ["DataTransformer", "ColumnTransformInfo", "SpanInfo"],
    "sklearn.mixture._bayesian_mixture": ["BayesianGaussianMixture"],
    "torch.nn.modules.container": ["Sequential"],
    "torch.nn.modules.linear": ["Linear"],
    "torch.nn.modules.batchnorm": ["BatchNorm1d"],
    "torch.nn.modules.activation": ["ReLU"],
}
TOP = ["sdv.single_table.copulas.GaussianCopulaSynthesizer",
       "sdv.single_table.ctgan.CTGANSynthesizer"]
# copulas' parametric distributions, interchangeable wherever one stands (its fallback when a
# column does not fit the default); GaussianKDE is left out: it keeps the training column
UNIVARIATES = [f"copulas.univariate.{module}.{name}" for module, name in (
    ("beta", "BetaUnivariate"), ("gamma", "GammaUnivariate"),
    ("gaussian", "GaussianUnivariate"), ("log_laplace", "LogLaplace"),
    ("student_t", "StudentTUnivariate"), ("truncated_gaussian", "TruncatedGaussian"),
    ("uniform", "UniformUnivariate"))]


def reference_table(rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    spend = np.round(rng.gamma(2.0, 40.0, rows), 2)
    spend[rng.random(rows) < 0.2] = np.nan
    joined = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), "D")
    when = pd.Series(joined).where(rng.random(rows) > 0.1)
    segment = pd.Series(rng.choice(["retail", "corporate", "public"], rows)).where(
        rng.random(rows) > 0.1)
    return pd.DataFrame({"spend": spend, "visits": rng.integers(0, 12, rows),
                         "fee": 12.5, "joined": when.dt.strftime("%Y-%m-%d"),
                         "active": rng.choice(["yes", "no"], rows), "segment": segment})


def main() -> None:
    warnings.filterwarnings("ignore")
    sdv_state.ALLOWED = frozenset(
        [f"{module}.{name}" for module, names in CANDIDATES.items() for name in names]
        + UNIVARIATES)
    raw = reference_table()
    schema = infer_schema(raw)
    frame = coerce_frame(raw, schema)
    rules: dict[str, dict[str, set[str]]] = {}
    for method, options in (("gaussian-copula", {}), ("ctgan", {"epochs": 1})):
        model = make_synthesizer(method, device="cpu", **options).fit(frame, schema)
        for drawn in (False, True):  # drawing rows sets attributes of its own
            if drawn:
                model.sample(50, seed=1)
            data, _ = sdv_state.to_plain(model._model, "sdv")
            for name, keys in sdv_state.attribute_rules(data).items():
                for key, found in keys.items():
                    rules.setdefault(name, {}).setdefault(key, set()).update(found)
    for keys in rules.values():
        for found in keys.values():
            for kind in ("object", "class"):
                if any(f"{kind}:{name}" in found for name in UNIVARIATES):
                    found.update(f"{kind}:{name}" for name in UNIVARIATES)
    listed = {kind.split(":", 1)[1] for keys in rules.values() for found in keys.values()
              for kind in found} | set(rules)
    print('"""Generated by scripts/sdv_attribute_rules.py from fits of the installed '
          'libraries: do not edit.\n\nThe classes a saved SDV model may hold and, per class '
          'and attribute, the objects\n("object:"), classes ("class:") and named tuples '
          '("named:") it may hold there;\nevery other attribute holds plain data only.\n"""')
    print()
    print(_names("TOP_LEVEL", [f"object:{name}" for name in TOP]))
    print()
    print(_names("ALLOWED", sorted(listed)))
    print()
    print("ATTRIBUTES = {")
    for name, keys in sorted(rules.items()):
        print(f"    {name!r}: {{")
        for key, found in sorted(keys.items()):
            line = f"        {key!r}: frozenset({{{', '.join(map(repr, sorted(found)))}}}),"
            if not found:
                print(f"        {key!r}: frozenset(),")
            elif len(line) <= 100:
                print(line)
            else:
                print(f"        {key!r}: frozenset({{")
                for kind in sorted(found):
                    print(f"            {kind!r},")
                print("        }),")
        print("    },")
    print("}")


def _names(constant: str, names: list[str]) -> str:
    return "\n".join([f"{constant} = frozenset({{", *(f"    {n!r}," for n in names), "})"])


if __name__ == "__main__":
    main()
