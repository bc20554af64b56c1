"""The model file (safetensors + JSON, never a pickle): round trips per method, refusal of files
that are not ours, and nothing in a file ever runs."""

from __future__ import annotations

import json
import math
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_pii_table

from tabsynth import model_file
from tabsynth.errors import ConfigError
from tabsynth.model_file import plain, read_model_file, restored, write_model_file
from tabsynth.schema import coerce_frame, infer_schema
from tabsynth.synthesizers import Synthesizer, make_synthesizer


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, object]:
    raw = make_pii_table(rows=240, seed=5)
    schema = infer_schema(raw)
    return coerce_frame(raw, schema), schema


SAVABLE = [("faker", {}), ("gaussian-copula", {}), ("ctgan", {"epochs": 1, "batch_size": 100}),
           ("autoregressive", {"epochs": 1}),
           ("autoregressive", {"epochs": 1, "epsilon": 2.0}),
           ("dp-gan", {"epochs": 1, "batch_size": 100}),
           ("dp-gan", {"epochs": 1, "batch_size": 100, "epsilon": math.inf})]


@pytest.mark.parametrize(("method", "options"), SAVABLE,
                         ids=[f"{m}-{o.get('epsilon', 'default')}" for m, o in SAVABLE])
def test_a_loaded_model_draws_the_same_rows(method, options, table, tmp_path) -> None:
    """The learned columns come back row for row; made-up columns are drawn without the
    collision guard (never saved), so only their shape is compared, and the loaded model is
    deterministic in every column."""
    frame, schema = table
    model = make_synthesizer(method, device="cpu", **options).fit(frame, schema)
    path = model.save(tmp_path / "model.safetensors")
    loaded = Synthesizer.load(path, device="cpu")
    assert type(loaded) is type(model) and loaded._settings() == model._settings()
    learned = [c.name for c in schema.learned]
    model.sample(20, seed=1)  # drawing rows first changes nothing of what is saved
    path = model.save(tmp_path / "model.safetensors")
    loaded = Synthesizer.load(path, device="cpu")
    before, after = model.sample(300, seed=4), loaded.sample(300, seed=4)
    pd.testing.assert_frame_equal(before[learned], after[learned])
    assert list(after.dtypes) == list(before.dtypes)
    pd.testing.assert_frame_equal(after, loaded.sample(300, seed=4))
    assert not after[learned].equals(loaded.sample(300, seed=5)[learned])
    assert loaded.privacy_claim == model.privacy_claim
    assert loaded.released_rows == model.released_rows
    assert loaded._guard is None  # the hashes of real values stayed behind


@pytest.fixture(scope="module")
def saved_ctgan(table, tmp_path_factory) -> Path:
    frame, schema = table
    path = tmp_path_factory.mktemp("ctgan") / "model.safetensors"
    return make_synthesizer("ctgan", epochs=1, device="cpu").fit(frame, schema).save(path)


def _objects(value, found: list) -> list:
    """Every saved object (class and attributes) in an SDV model's description."""
    if isinstance(value, dict):
        if value.get("t") == "object":
            found.append((value["class"], dict(value["v"])))
        for inner in value.values():
            _objects(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _objects(inner, found)
    return found


def test_a_saved_sdv_model_is_data_without_training_rows(saved_ctgan) -> None:
    description, tensors = read_model_file(saved_ctgan)
    objects = _objects(description["learned"], [])
    classes = {name for name, _ in objects}
    assert "ctgan.synthesizers.ctgan.CTGAN" in classes
    assert "sklearn.mixture._bayesian_mixture.BayesianGaussianMixture" in classes
    samplers = [state for name, state in objects if name.endswith("DataSampler")]
    assert samplers and all(state["_rid_by_cat_cols"] is None for state in samplers)
    assert all(state["_transformers_by_sdtype"] is None for name, state in objects
               if name.endswith("DataProcessor"))
    assert all(state["loss_values"] is None for name, state in objects if name.endswith("CTGAN"))
    means = [state["_missing_value_replacement"] for name, state in objects
             if name.endswith("NullTransformer")]
    assert means and all(mean is None for mean in means)  # the column means stay behind
    assert any(array.ndim == 2 and array.shape[0] == 256 for array in tensors.values())  # the
    # generator's weights, as tensors


def _plant_class(description: dict, name: str) -> None:
    """Rename the first saved object's class (as a forged file would)."""
    first = _objects(description["learned"], [])[0][0]
    text = json.dumps(description["learned"]).replace(json.dumps(first), json.dumps(name), 1)
    description["learned"] = json.loads(text)


@pytest.mark.parametrize("name", ["os.system", "subprocess.Popen", "builtins.eval",
                                  "tabsynth.jobs.JobRegistry", "sdv.single_table.copulas"])
def test_an_sdv_model_names_only_allowed_classes(saved_ctgan, tmp_path, name) -> None:
    path = _rewrite(saved_ctgan, tmp_path / "forged.safetensors",
                    lambda d: _plant_class(d, name))
    with pytest.raises(ConfigError, match="is damaged or incomplete: its ctgan model could not "
                                          "be rebuilt"):
        Synthesizer.load(path)


def test_a_copula_names_its_distributions_only_among_allowed_classes(table, tmp_path) -> None:
    """copulas imports a distribution named by its class path when it fits: a file naming
    another class there is refused, though drawing rows would not use it."""
    frame, schema = table
    saved = make_synthesizer("gaussian-copula").fit(frame, schema).save(
        tmp_path / "copula.safetensors")
    beta = json.dumps({"t": "class", "v": "copulas.univariate.beta.BetaUnivariate"})

    def forge(description: dict) -> None:  # one column's distribution by path, not by class
        text = json.dumps(description["learned"])
        assert f'["distribution", {{"t": "dict", "v": [["segment", {beta}]' in text
        description["learned"] = json.loads(text.replace(
            f'["distribution", {{"t": "dict", "v": [["segment", {beta}]',
            '["distribution", {"t": "dict", "v": [["segment", "os.system"]', 1))

    with pytest.raises(ConfigError, match="its gaussian-copula model could not be rebuilt"):
        Synthesizer.load(_rewrite(saved, tmp_path / "forged.safetensors", forge))
    assert Synthesizer.load(saved).sample(5, seed=1).shape[0] == 5


@pytest.fixture(scope="module")
def copula_with_gaps(table, tmp_path_factory) -> tuple[Synthesizer, Path]:
    """A copula fitted where a third of `spend` is missing and `visits` is constant."""
    frame, schema = table
    frame = frame.copy()
    frame.loc[frame.index % 3 == 0, "spend"] = np.nan
    frame["visits"] = 4
    model = make_synthesizer("gaussian-copula").fit(frame, schema)
    return model, model.save(tmp_path_factory.mktemp("gaps") / "model.safetensors")


def test_a_copula_with_gaps_and_a_constant_draws_the_same_rows_once_loaded(
        copula_with_gaps, table) -> None:
    """Objects met twice (RDT keeps each transformer in two places) are one object again once
    loaded, so missing values are drawn the same way; a constant column's replaced methods
    come back as the object's own."""
    model, path = copula_with_gaps
    learned = [c.name for c in table[1].learned]
    loaded = Synthesizer.load(path)
    before, after = model.sample(400, seed=7)[learned], loaded.sample(400, seed=7)[learned]
    pd.testing.assert_frame_equal(before, after)
    assert after["spend"].isna().any() and (after["visits"] == 4).all()
    pd.testing.assert_frame_equal(after, loaded.sample(400, seed=7)[learned])


def _edit_object(description: dict, cls: str, change) -> None:
    """Apply `change(state_pairs)` to the first saved object of class `cls`."""
    def visit(value) -> bool:
        if isinstance(value, dict):
            if value.get("t") == "object" and value["class"].endswith(cls):
                change(value["v"])
                return True
            return any(visit(inner) for inner in value.values())
        return isinstance(value, list) and any(visit(inner) for inner in value)

    assert visit(description["learned"])


def _set(pairs: list, key: str, value) -> None:
    for pair in pairs:
        if pair[0] == key:
            pair[1] = value
            return
    pairs.append([key, value])


_UNIVARIATE = "copulas.univariate.beta.BetaUnivariate"
_MEMORY = {"t": "dict", "v": [["shape", {"t": "tuple", "v": [1]}], ["typestr", "<f8"],
                              ["data", {"t": "tuple", "v": [64, False]}], ["version", 3]]}
_PLACE = "an object where the model holds none of its kind"
FORGERIES = {  # name: (class of the object edited, the edit, the reader's reason)
    # numpy reads __array_interface__ from the instance: raw memory as a column's bound
    "protocol attribute": ("FloatFormatter", lambda pairs: _set(
        pairs, "__array_interface__", _MEMORY), "a protocol attribute"),
    "pandas type mark": ("FloatFormatter", lambda pairs: _set(pairs, "_typ", "dataframe"),
                         "a protocol attribute"),
    "memory as a bound": ("FloatFormatter", lambda pairs: _set(pairs, "_max_value", {
        "t": "object", "class": _UNIVARIATE, "id": 10_000,
        "v": [["__array_interface__", _MEMORY]]}), _PLACE),
    "object where a number belongs": ("FloatFormatter", lambda pairs: _set(
        pairs, "_min_value", {"t": "object", "class": _UNIVARIATE, "id": 10_000, "v": []}),
        _PLACE),
    "method shadowed": ("BetaUnivariate", lambda pairs: _set(pairs, "percent_point", 5),
                        "shadows the class's own"),
    "constant method elsewhere": ("BetaUnivariate", lambda pairs: _set(
        pairs, "fit", {"t": "constant"}), "shadows the class's own"),
    "class shadowing a method": ("BetaUnivariate", lambda pairs: _set(
        pairs, "percent_point", {"t": "class", "v": "torch.nn.modules.activation.ReLU"}),
        "shadows the class's own"),
    "dtype by name": ("DataProcessor", lambda pairs: _set(pairs, "_dtypes", {
        "t": "series", "name": None, "index": {"t": "range", "v": [0, 1, 1], "name": None},
        "dtype": "int64[pyarrow]", "v": {"t": "objects", "shape": [1], "v": [1]}}),
        "not a saved dtype"),
    "constructor called": ("GaussianMultivariate", lambda pairs: _set(pairs, "columns", {
        "t": "named", "class": "torch.nn.modules.linear.Linear", "v": [["in", 2]]}), _PLACE),
    "number out of range": ("FloatFormatter", lambda pairs: _set(
        pairs, "_min_value", {"t": "scalar", "dtype": "<i8", "v": 2**70}),
        "out of its type's range"),
    "reference ahead": ("HyperTransformer", lambda pairs: _set(
        pairs, "field_transformers", {"t": "ref", "v": 99_999}), "not read yet"),
    # numpy does not check a random state's position, and a draw reads the key at it
    "random state out of its key": ("FloatFormatter", lambda pairs: _set(
        pairs, "random_states", {"t": "dict", "v": [["reverse_transform", {
            "t": "random_state", "v": {"t": "tuple", "v": [
                "MT19937", {"t": "array", "v": "sdv.0"}, -2**31, 0, 0.0]}}]]}),
        "not a random state"),
    "byte-width dtype": ("FloatFormatter", lambda pairs: _set(
        pairs, "_dtype", {"t": "dtype", "v": "|S500000000"}), "not a saved dtype"),
    "dtype as text": ("FloatFormatter", lambda pairs: _set(
        pairs, "_dtype", "datetime64[ns, dateutil//etc/passwd]"),
        "a value of another kind than the model holds there"),
    "attribute the model lacks": ("FloatFormatter", lambda pairs: _set(pairs, "_extra", 1),
                                  "an attribute the model does not have"),
    "endless range": ("DataProcessor", lambda pairs: _set(pairs, "_dtypes", {
        "t": "series", "name": None, "index": {"t": "range", "v": [0, 10**12, 1], "name": None},
        "dtype": {"t": "dtype", "v": "object"}, "v": {"t": "objects", "shape": [1], "v": [1]}}),
        "a range longer than any a model holds"),
    # RDT resets the field map's transformers and draws with the sequence's
    "transformers of another sequence": ("HyperTransformer", lambda pairs: _set(
        pairs, "_transformers_sequence", {"t": "list", "v": []}), None),
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_sdv_model_is_refused_before_it_draws(copula_with_gaps, tmp_path,
                                                       forgery) -> None:
    """Each forgery is stopped by the reader's rule for it (the reason), and loading says the
    file is damaged (the trial draw would catch what slipped through)."""
    from tabsynth.synthesizers.sdv_state import from_plain

    cls, change, reason = FORGERIES[forgery]
    path = _rewrite(copula_with_gaps[1], tmp_path / "forged.safetensors",
                    lambda d: _edit_object(d, cls, change))
    description, tensors = read_model_file(path)
    if reason is None:  # well formed: the check of the rebuilt model refuses it
        from_plain(description["learned"], tensors)
    else:
        with pytest.raises(ValueError, match=re.escape(reason)):
            from_plain(description["learned"], tensors)
    with pytest.raises(ConfigError, match="is damaged or incomplete: its gaussian-copula model "
                                          "could not be rebuilt"):
        Synthesizer.load(path)


@pytest.mark.parametrize("size", ["_batch_size", "_embedding_dim"])
def test_a_ctgan_asking_for_other_sizes_than_its_own_is_refused(saved_ctgan, tmp_path,
                                                                size) -> None:
    """CTGAN draws whole batches of noise and conditions: a file may not choose their size."""
    path = _rewrite(saved_ctgan, tmp_path / "big.safetensors", lambda d: _edit_object(
        d, "ctgan.CTGAN", lambda pairs: _set(pairs, size, 125_000)))
    with pytest.raises(ConfigError, match="its ctgan model could not be rebuilt"):
        Synthesizer.load(path)


def test_a_column_dtype_naming_a_file_is_refused(saved, tmp_path) -> None:
    """A model's column dtypes are those a table can have: pandas opens the file a
    "dateutil/<path>" time zone names."""
    def zone(description: dict) -> None:
        name = next(iter(description["dtypes"]))
        description["dtypes"][name] = "datetime64[ns, dateutil//etc/hostname]"

    path = _rewrite(saved, tmp_path / "zone.safetensors", zone)
    with pytest.raises(ConfigError, match="is damaged or incomplete: its faker model"):
        Synthesizer.load(path)


def test_an_sdv_model_of_other_library_versions_is_refused(saved_ctgan, tmp_path) -> None:
    def older(description: dict) -> None:
        description["learned"]["versions"]["rdt"] = "0.1.0"

    path = _rewrite(saved_ctgan, tmp_path / "older.safetensors", older)
    with pytest.raises(ConfigError, match=r"this ctgan model was saved with other versions of "
                                          r"the libraries it is built on \(rdt\) than the ones "
                                          "installed; fit it again here"):
        Synthesizer.load(path)


def test_an_sdv_model_holding_something_unknown_is_not_saved(table, tmp_path) -> None:
    frame, schema = table
    model = make_synthesizer("gaussian-copula").fit(frame, schema)
    model._model._hook = len  # a function: never written to a model file
    with pytest.raises(ConfigError, match="this gaussian-copula model cannot be saved: a "
                                          "builtin_function_or_method object cannot be saved"):
        model.save(tmp_path / "model.safetensors")
    del model._model._hook
    model._model._data_processor._extra = 1  # plain, but no fit sets it: a load would refuse
    with pytest.raises(ConfigError, match="cannot be saved: it holds parts this version of "
                                          "tabsynth would not open again"):
        model.save(tmp_path / "model.safetensors")
    assert not (tmp_path / "model.safetensors").exists()


@pytest.fixture(scope="module")
def saved(table, tmp_path_factory) -> Path:
    frame, schema = table
    path = tmp_path_factory.mktemp("saved") / "model.safetensors"
    return make_synthesizer("faker").fit(frame, schema).save(path)


def _rewrite(source: Path, target: Path, change) -> Path:
    """A copy of a model file whose description `change` edited."""
    description, tensors = read_model_file(source)
    change(description)
    return write_model_file(target, description, tensors)


class _Runs:
    """Unpickling this would create a file: the proof a loader ran code."""

    marker = ""

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_pickle_is_refused_without_being_run(tmp_path) -> None:
    marker = tmp_path / "code-ran"
    payload = _Runs()
    payload.marker = str(marker)
    for protocol in (2, 4, 5):
        path = tmp_path / f"model-{protocol}.pkl"
        path.write_bytes(pickle.dumps(payload, protocol=protocol))
        with pytest.raises(ConfigError, match="saved by an earlier tabsynth as a pickle, which "
                                              "is never opened"):
            Synthesizer.load(path)
    protocol0 = tmp_path / "model-0.pkl"  # text protocol: no PROTO byte at the start
    protocol0.write_bytes(pickle.dumps(payload, protocol=0))
    with pytest.raises(ConfigError, match="is not a tabsynth model file"):
        Synthesizer.load(protocol0)
    assert not marker.exists()


def test_a_pickle_hidden_in_the_description_is_only_data(saved, tmp_path) -> None:
    """Bytes of a pickle, a class path and code in text fields stay text: nothing is imported,
    evaluated or unpickled."""
    marker = tmp_path / "code-ran"
    payload = _Runs()
    payload.marker = str(marker)
    blob = pickle.dumps(payload, protocol=0).decode("latin-1")

    def plant(description: dict) -> None:
        description["schema"]["columns"][0]["reason"] = blob
        description["fit_info"] = {"__reduce__": blob, "py/object": "os.system",
                                   "code": f"__import__('os').mkdir({str(marker)!r})"}

    path = _rewrite(saved, tmp_path / "planted.safetensors", plant)
    model = Synthesizer.load(path)
    assert model.schema.columns[0].reason == blob
    model.sample(5, seed=0)
    assert not marker.exists()


@pytest.mark.parametrize(("method", "why"), [
    ("tabsynth.synthesizers.faker_only.FakerSynthesizer", "a class path"),
    ("os.system", "a function"), ("tvae", "a method this version lacks"), (None, "none")])
def test_an_unknown_method_is_refused_by_name(saved, tmp_path, method, why) -> None:
    path = _rewrite(saved, tmp_path / "other.safetensors",
                    lambda d: d.update(method=method))
    with pytest.raises(ConfigError, match="a method this version of tabsynth does not know; "
                                          "it reads models of faker, gaussian-copula"):
        Synthesizer.load(path)


def test_other_versions_and_other_files_are_refused(saved, tmp_path, monkeypatch) -> None:
    csv = tmp_path / "people.csv"
    csv.write_bytes(b"zoe@example.org,1980-01-01\n" * 5)  # a CSV given by mistake
    with pytest.raises(ConfigError, match="is not a tabsynth model file") as refused:
        Synthesizer.load(csv)
    assert "zoe" not in str(refused.value)
    with pytest.raises(ConfigError, match="model file not found"):
        Synthesizer.load(tmp_path / "missing.safetensors")
    from safetensors.numpy import save_file

    foreign = tmp_path / "weights.safetensors"
    save_file({"w": np.zeros(3, np.float32)}, str(foreign), metadata={"format": "pt"})
    with pytest.raises(ConfigError, match="holds tensors but no tabsynth model"):
        Synthesizer.load(foreign)
    monkeypatch.setattr(model_file, "FORMAT_VERSION", model_file.FORMAT_VERSION + 1)
    with pytest.raises(ConfigError, match=r"holds a model in format 1 \(saved by tabsynth "
                                          r"[0-9.]+\); this version of tabsynth reads format 2: "
                                          "fit the model again"):
        Synthesizer.load(saved)


def test_a_damaged_description_is_named_not_traced(saved, tmp_path) -> None:
    def break_settings(description: dict) -> None:
        description["settings"] = {"no_such_setting": 1}

    def drop_learned(description: dict) -> None:
        del description["learned"]

    for change in (break_settings, drop_learned):
        path = _rewrite(saved, tmp_path / f"{change.__name__}.safetensors", change)
        with pytest.raises(ConfigError, match="is damaged or incomplete: its faker model could "
                                              "not be rebuilt"):
            Synthesizer.load(path)


def test_the_description_is_plain_data_that_round_trips() -> None:
    value = {"a": [np.int64(3), np.float32(0.5), math.inf, -math.inf, None, True, "=x"],
             "when": pd.Timestamp("2024-02-29 13:45"), "arr": np.arange(3),
             "t": ("x", 1)}
    text = json.dumps(plain(value), allow_nan=False)
    back = restored(json.loads(text))
    assert back["a"][:2] == [3, 0.5] and type(back["a"][0]) is int
    assert back["a"][2:] == [math.inf, -math.inf, None, True, "=x"]
    assert back["when"] == pd.Timestamp("2024-02-29 13:45")
    assert back["arr"] == [0, 1, 2] and back["t"] == ["x", 1]
    assert math.isnan(restored(json.loads(json.dumps(plain(math.nan)))))
    with pytest.raises(TypeError, match="cannot be saved"):
        plain({"f": len})
    with pytest.raises(TypeError, match="text keys"):
        plain({1: "x"})


def test_a_model_whose_header_length_starts_like_a_pickle_still_loads(saved, tmp_path) -> None:
    """A safetensors file begins with its header's length: when its first byte is 0x80 (as a
    pickle's is), the file is still a model and loads."""
    description, tensors = read_model_file(saved)
    for pad in range(600):
        description["padding"] = "x" * pad
        path = write_model_file(tmp_path / "padded.safetensors", description, tensors)
        if path.read_bytes()[:1] == b"\x80":
            break
    else:
        pytest.fail("no padding gave a header length whose first byte is 0x80")
    assert Synthesizer.load(path).method == "faker"
