"""Train on synthetic, test on real (TSTR) beside train on real, test on real (TRTR)."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from tabsynth.evaluation.common import as_float, comparable_columns, is_numeric, sample_rows
from tabsynth.formatting import aggregate

MAX_TRAIN_ROWS = 20_000
# the real holdout rows the models are scored on: a seeded sample beyond this many, so that
# scoring costs the same for any table size (an AUC on 20,000 rows is within about ±0.005)
MAX_TEST_ROWS = 20_000
MAX_CLASSES = 20
# permutation importance: a seeded sample of features and of holdout rows, 3 shuffles each
MAX_IMPORTANCE_FEATURES = 30
IMPORTANCE_ROWS = 2000
IMPORTANCE_REPEATS = 3


@dataclass
class ModelScores:
    model: str
    tstr: dict[str, float]
    trtr: dict[str, float]


@dataclass
class UtilityResult:
    target: str | None
    task: str | None  # classification | regression
    target_chosen_by: str  # "user" | "tabsynth" | "none"
    tstr: dict[str, float] = field(default_factory=dict)  # best model's metrics
    trtr: dict[str, float] = field(default_factory=dict)
    models: list[ModelScores] = field(default_factory=list)
    importance_agreement: float | None = None  # Spearman of permutation importances
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_target(train: pd.DataFrame, columns: list[str]) -> str | None:
    """The last categorical column with 2..20 classes, else the last numeric one."""
    for column in reversed(columns):
        if not is_numeric(train[column]) and 2 <= train[column].nunique() <= MAX_CLASSES:
            return column
    for column in reversed(columns):
        if is_numeric(train[column]) and train[column].nunique() > MAX_CLASSES:
            return column
    return None


def utility_target(train: pd.DataFrame, synthetic: pd.DataFrame, target: str | None,
                   exclude: list[str] | None = None) -> str | None:
    """The column the utility models predict: the user's, else tabsynth's choice; None when it
    is not a compared column."""
    columns = comparable_columns(train, synthetic, exclude)
    target = target or choose_target(train, columns)
    return target if target in columns else None


def evaluate_utility(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                     target: str | None = None, exclude: list[str] | None = None,
                     seed: int = 0) -> UtilityResult:
    columns = comparable_columns(train, synthetic, exclude)
    chosen_by = "user" if target else "tabsynth"
    target = utility_target(train, synthetic, target, exclude)
    if target is None:
        return UtilityResult(None, None, "none", note="no suitable target column")
    features = [c for c in columns if c != target]
    if not features:
        return UtilityResult(target, None, chosen_by, note="no feature columns besides target")
    classification = not is_numeric(train[target]) or train[target].nunique() <= MAX_CLASSES
    if classification and train[target].nunique() < 2:
        return UtilityResult(target, "classification", chosen_by,
                             note=f"target {target!r} has a single class in train")
    encoder = _Features(train, features)
    real = sample_rows(train.dropna(subset=[target]), MAX_TRAIN_ROWS, seed)
    fake = sample_rows(synthetic.dropna(subset=[target]), MAX_TRAIN_ROWS, seed)
    test = sample_rows(holdout.dropna(subset=[target]), MAX_TEST_ROWS, seed)
    models, importances, notes = [], {}, []
    for name, factory in _models(classification, seed).items():
        try:
            tstr, fitted_fake = _fit_score(factory, encoder, fake, test, target, classification)
            trtr, fitted_real = _fit_score(factory, encoder, real, test, target, classification)
        except ValueError as exc:  # e.g. a synthetic feature that is entirely missing
            notes.append(f"{name}: could not be fitted ({type(exc).__name__})")
            continue
        models.append(ModelScores(name, tstr, trtr))
        if name == "gradient_boosting" and fitted_fake is not None and fitted_real is not None:
            importances = {"fake": fitted_fake, "real": fitted_real}
    task = "classification" if classification else "regression"
    if not models:
        return UtilityResult(target, task, chosen_by, note="; ".join(notes))
    key = "auc" if classification else "r2"
    best = max(models, key=lambda m: m.trtr.get(key, -np.inf))
    try:
        agreement = _importance_agreement(importances, encoder, test, target, classification,
                                          seed)
    except ValueError:
        agreement = None
    return UtilityResult(target, task, chosen_by, best.tstr, best.trtr, models, agreement,
                         note="; ".join(notes))


QUICK_ROWS = 2000  # rows of the quick check of a target on real data (a second or so)
QUICK_TREES = 30
# below these, even a model trained on real rows predicts the target poorly: utility figures
# then say little about the synthetic table
WEAK_TARGET = {"auc": 0.6, "r2": 0.1}


@dataclass(frozen=True)
class RealPredictability:
    """How well the other columns predict a target on real rows alone."""

    target: str
    metric: str  # auc (classification) or r2 (regression)
    value: float  # on a quarter of the rows, for a model trained on the other three quarters

    @property
    def weak(self) -> bool:
        return self.value < WEAK_TARGET[self.metric]


def weak_target_note(target: str | None, metric: str, value: float | None) -> str | None:
    """What to say when even real rows predict the target poorly (None when they do not)."""
    if target is None or not isinstance(value, int | float) or metric not in WEAK_TARGET \
            or value >= WEAK_TARGET[metric]:
        return None
    scale = "0.5 is chance" if metric == "auc" else "0 is no better than always the mean"
    return (f"Even a model trained on real rows predicts {target} poorly ({metric.upper()} "
            f"{aggregate(value)}; {scale}), so the utility figures say little about the "
            "synthetic table. A column that the other columns help predict makes a better "
            "target.")


CHANCE = {"auc": 0.55, "r2": 0.0}  # at or below: models trained on the synthetic rows guess


def chance_note(target: str | None, metric: str, synthetic: float | None,
                real: float | None) -> str | None:
    """What to say when models trained on the synthetic rows predict the target no better than
    chance while models trained on real rows can (None otherwise)."""
    if target is None or metric not in CHANCE or not isinstance(synthetic, int | float) \
            or synthetic > CHANCE[metric] or not isinstance(real, int | float) \
            or real < WEAK_TARGET[metric]:
        return None
    scale = "0.5 is chance" if metric == "auc" else "0 is no better than always the mean"
    return (f"Models trained on the synthetic rows predict {target} no better than chance "
            f"({metric.upper()} {aggregate(synthetic)}; {scale}), while models trained on the "
            f"real rows reach {aggregate(real)}: the synthetic rows lost how {target} depends "
            "on the other columns. Do not train models on them; more rows, more training or "
            "(with differential privacy) a larger ε may help.")


def real_predictability(frame: pd.DataFrame, target: str, features: list[str],
                        seed: int = 0) -> RealPredictability | None:
    """A quick check of a target before any synthesizer runs: gradient boosting trained on
    three quarters of (a sample of) the real rows, scored on the rest; None when no model can be
    built (no feature, a single class, too few rows)."""
    features = [c for c in features if c != target and c in frame.columns]
    rows = sample_rows(frame.dropna(subset=[target]), QUICK_ROWS, seed)
    rows = rows.sample(frac=1.0, random_state=seed)  # a sorted file must not split by target
    if not features or len(rows) < 40:
        return None
    classification = not is_numeric(rows[target]) or rows[target].nunique() <= MAX_CLASSES
    if classification and not 2 <= rows[target].nunique() <= MAX_CLASSES:
        return None
    cut = len(rows) * 3 // 4
    fit_on, test = rows.iloc[:cut], rows.iloc[cut:]
    def quick(_: _Features) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        kind = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
        return kind(max_iter=QUICK_TREES, random_state=seed, categorical_features="from_dtype")

    from threadpoolctl import threadpool_limits

    from tabsynth.device import compute_threads

    try:
        with threadpool_limits(compute_threads()):  # extra threads only wait for each other
            scores, _ = _fit_score(quick, _Features(fit_on, features), fit_on, test, target,
                                   classification)
    except ValueError:
        return None
    metric = "auc" if classification else "r2"
    return RealPredictability(target, metric, scores[metric])


class _Features:
    def __init__(self, train: pd.DataFrame, features: list[str]) -> None:
        self.features = features
        self.numeric = [c for c in features if is_numeric(train[c])]
        self.categories = {c: sorted(train[c].dropna().astype(str).unique())[:200]
                           for c in features if c not in self.numeric}

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=frame.index)
        for column in self.features:
            if column in self.numeric:
                out[column] = as_float(frame[column])
            else:
                out[column] = pd.Categorical(frame[column].astype(str),
                                             categories=self.categories[column])
        return out


def _models(classification: bool, seed: int) -> dict[str, Any]:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def linear(features: _Features) -> Any:
        transformer = make_column_transformer(
            (make_pipeline(SimpleImputer(), StandardScaler()), features.numeric),
            (OneHotEncoder(handle_unknown="ignore"), list(features.categories)))
        head = LogisticRegression(max_iter=300) if classification else Ridge()
        return make_pipeline(transformer, head)

    def boosting(_: _Features) -> Any:
        kind = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
        return kind(random_state=seed, categorical_features="from_dtype")

    return {"gradient_boosting": boosting, "linear": linear}


def _fit_score(factory: Any, encoder: _Features, fit_on: pd.DataFrame, test: pd.DataFrame,
               target: str, classification: bool) -> tuple[dict[str, float], Any]:
    from sklearn.metrics import f1_score, mean_absolute_error, r2_score, roc_auc_score

    x_fit, x_test = encoder(fit_on), encoder(test)
    if classification:
        y_fit, y_test = fit_on[target].astype(str), test[target].astype(str)
        if y_fit.nunique() < 2:
            return {"auc": 0.5, "f1": 0.0}, None
        model = factory(encoder)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x_fit, y_fit)
        proba = model.predict_proba(x_test)
        classes = list(model.classes_)
        if len(classes) == 2:
            auc = roc_auc_score((y_test == classes[1]).astype(int), proba[:, 1])
        else:
            known = y_test.isin(classes)
            auc = roc_auc_score(y_test[known], proba[known.to_numpy()], multi_class="ovr",
                                labels=classes) if known.any() else 0.5
        f1 = f1_score(y_test, model.predict(x_test), average="macro")
        return {"auc": float(auc), "f1": float(f1)}, model
    y_fit, y_test = as_float(fit_on[target]), as_float(test[target])
    model = factory(encoder)
    model.fit(x_fit, y_fit)
    predicted = model.predict(x_test)
    return {"r2": float(r2_score(y_test, predicted)),
            "mae": float(mean_absolute_error(y_test, predicted))}, model


def _importance_agreement(models: dict[str, Any], encoder: _Features, test: pd.DataFrame,
                          target: str, classification: bool, seed: int) -> float | None:
    """Spearman correlation of the two models' permutation importances on real holdout rows.

    Beyond MAX_IMPORTANCE_FEATURES features a seeded sample of them is permuted, so a
    500-column table costs what a 30-column one does.
    """
    if not models or len(encoder.features) < 3:
        return None
    subset = sample_rows(test, IMPORTANCE_ROWS, seed)
    x = encoder(subset)
    y = subset[target].astype(str) if classification else as_float(subset[target])
    rng = np.random.default_rng(seed)
    columns = list(x.columns)
    if len(columns) > MAX_IMPORTANCE_FEATURES:
        columns = sorted(rng.choice(columns, MAX_IMPORTANCE_FEATURES, replace=False).tolist(),
                         key=list(x.columns).index)
    scores = {name: _permutation_importance(model, x, y, columns, rng)
              for name, model in models.items()}
    value = spearmanr(scores["fake"], scores["real"]).statistic
    return None if np.isnan(value) else float(value)


def _permutation_importance(model: Any, x: pd.DataFrame, y: pd.Series, columns: list[str],
                            rng: np.random.Generator) -> np.ndarray:
    """Mean drop in the model's score when each column is shuffled (IMPORTANCE_REPEATS times)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        baseline = model.score(x, y)
        drops = []
        for column in columns:
            shuffled = x.copy()
            losses = []
            for _ in range(IMPORTANCE_REPEATS):
                shuffled[column] = x[column].to_numpy()[rng.permutation(len(x))]
                if isinstance(x[column].dtype, pd.CategoricalDtype):
                    shuffled[column] = pd.Categorical(shuffled[column],
                                                      categories=x[column].cat.categories)
                losses.append(baseline - model.score(shuffled, y))
            drops.append(float(np.mean(losses)))
    return np.asarray(drops)


# a target whose rarest class holds less than this share of an equal one (0.35 of the rows for
# two classes; a uniform target of eight classes is not imbalanced)
IMBALANCED = 0.7


def imbalanced(values: pd.Series) -> bool:
    """Whether a categorical target's rarest class is rare enough for rebalancing to matter:
    under IMBALANCED of the share each class would hold if all were equal."""
    shares = values.dropna().astype(str).value_counts(normalize=True)
    return len(shares) >= 2 and float(shares.min()) < IMBALANCED / len(shares)


def rebalanced_utility(train: pd.DataFrame, holdout: pd.DataFrame, natural: pd.DataFrame,
                       balanced: pd.DataFrame, target: str, exclude: list[str] | None = None,
                       seed: int = 0) -> dict[str, Any]:
    """What rebalancing the synthetic target does to a model trained on it and tested on the
    real holdout: gradient boosting's AUC and macro F1 (the rarer classes' share of the score)
    on the natural synthetic rows and on rows drawn with equal shares of each class."""
    features = [c for c in comparable_columns(train, natural, exclude) if c != target]
    encoder = _Features(train, features)
    test = sample_rows(holdout.dropna(subset=[target]), MAX_TEST_ROWS, seed)
    factory = _models(True, seed)["gradient_boosting"]
    out: dict[str, Any] = {"target": target, "model": "gradient_boosting"}
    for name, frame in (("natural", natural), ("balanced", balanced)):
        rows = sample_rows(frame.dropna(subset=[target]), MAX_TRAIN_ROWS, seed)
        scores, _ = _fit_score(factory, encoder, rows, test, target, True)
        shares = rows[target].astype(str).value_counts(normalize=True)
        out[name] = {**scores, "rarest_share": float(shares.min()) if len(shares) else None}
    return out
