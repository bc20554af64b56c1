"""The method registry is the one place the CLI, the page, run settings and the README read."""

from __future__ import annotations

import inspect

import pytest
from conftest import ROOT

from tabsynth.cli import build_parser
from tabsynth.errors import ConfigError
from tabsynth.settings import RunConfig
from tabsynth.synthesizers import METHODS, make_synthesizer
from tabsynth.synthesizers.registry import DEFAULT_METHOD, method_table


def test_readme_method_table_is_the_registrys() -> None:
    assert method_table() in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", list(METHODS))
def test_each_class_takes_its_options_and_states_its_entry(name: str) -> None:
    info = METHODS[name]
    cls = info.load()
    assert (cls.method, cls.discloses) == (info.name, info.discloses)
    parameters = inspect.signature(cls.__init__).parameters
    assert set(info.options) <= set(parameters), set(info.options) - set(parameters)
    assert set(info.defaults) <= set(info.options)


def test_defaults_apply_when_an_option_is_not_given() -> None:
    model = make_synthesizer("dp-gan", epsilon=None, epochs=None, device="cpu")
    assert model.epsilon == METHODS["dp-gan"].defaults["epsilon"]
    assert model.epochs == METHODS["dp-gan"].defaults["epochs"]
    assert make_synthesizer("dp-gan", epochs=3, device="cpu").epochs == 3
    ctgan = make_synthesizer("ctgan", epsilon=1.0, device="cpu")  # an option it does not take
    assert ctgan.epochs == METHODS["ctgan"].defaults["epochs"]


def test_who_makes_a_dp_claim() -> None:
    assert RunConfig(method="dp-gan").private and not RunConfig(method="dp-gan",
                                                                 epsilon=float("inf")).private
    assert not RunConfig(method="autoregressive").private
    assert RunConfig(method="autoregressive", epsilon=1.0).private
    assert not RunConfig(method="ctgan", epsilon=1.0).private
    with pytest.raises(ConfigError, match="--epsilon: ctgan gives no differential-privacy "
                                          "guarantee"):
        RunConfig(method="ctgan", epsilon=1.0).validate()  # a budget is never dropped silently
    with pytest.raises(ConfigError, match="--public-schema: faker gives no"):
        RunConfig(method="faker", public_schema={"a": {}}).validate()
    RunConfig(method="ctgan", epochs=3, batch_size=100).validate()


def test_cli_offers_exactly_the_registered_methods() -> None:
    synthesize = build_parser()._subparsers._group_actions[0].choices["synthesize"]
    method = next(a for a in synthesize._actions if a.dest == "method")
    assert list(method.choices) == list(METHODS)
    assert method.default == DEFAULT_METHOD == RunConfig().method == "autoregressive"
    with pytest.raises(ConfigError, match="choose one of faker, gaussian-copula"):
        RunConfig(method="tvae").validate()
