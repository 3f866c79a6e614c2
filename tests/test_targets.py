"""Which `_target_` a config may name: fedexp's builders and the plugins declared outside any config."""

import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from fedexp import targets
from fedexp.errors import ConfigError
from fedexp.runner.build import instantiate
from tests.conftest import CONFIG_DIR, TINY, compose


def test_the_builders_are_the_targets_of_the_shipped_options():
    options = [p for p in Path(CONFIG_DIR).glob("*/**/*.yaml") if p.parent.name not in ("algo", "experiment")]
    expected = {OmegaConf.load(p)._target_ for p in options}
    assert targets.builders() == expected and len(expected) == len(options) == 46


@pytest.mark.parametrize("target, ok", [
    ("fedexp.model.mlp.build_mlp", True),
    ("fedexp.aggregator.krum.build_krum", True),
    ("fedexp.tracking.mlflow.MlflowTracker", True),
    ("fedexp.model.mlp.keras", False),                     # an attribute of a fedexp module, not a builder
    ("fedexp.runner.checkpoint.save", False),              # a fedexp function that writes files
    ("fedexp.tracking._sweep.MlflowSweepCallback", False),  # Hydra's callback, not a component
    ("builtins.open", False),
    ("mylab.blocks.build_median", True),                   # declared below
    ("mylab.blocksmith.build", False),                     # a prefix is a whole module name
    ("mylab", False),
    (None, False), (["fedexp.model.mlp.build_mlp"], False),
])
def test_allowed(monkeypatch, target, ok):
    monkeypatch.setenv(targets.PLUGINS_ENV, "mylab.blocks, tests.runner")
    assert targets.allowed(target) is ok


def test_a_declared_prefix_must_be_a_module_name(monkeypatch):
    monkeypatch.setenv(targets.PLUGINS_ENV, "mylab;rm -rf")
    with pytest.raises(ConfigError, match=r"FEDEXP_PLUGINS: 'mylab;rm -rf' is not a module prefix"):
        targets.allowed("mylab.x")


def test_an_installed_package_declares_its_plugin_by_entry_point(tmp_path, monkeypatch):
    info = tmp_path / "mylab-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mylab\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[fedexp.plugins]\nmylab = mylab.fl:build_median\n")
    monkeypatch.delenv(targets.PLUGINS_ENV, raising=False)
    assert not targets.allowed("mylab.fl.build_median")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert targets.plugins() == ("mylab.fl",) and targets.allowed("mylab.fl.build_median")


@pytest.mark.parametrize("node, key", [
    ({"a": {"b": [{"c": {"_target_": "os.system"}}]}}, r"a.b.0.c._target_: 'os.system'"),
    ({"t": "os.system", "a": {"_target_": "${t}"}}, r"a._target_: 'os.system'"),
    ({"a": "${oc.create:'{_target_: os.system}'}"}, r"a._target_: 'os.system'"),
    ({"a": {"_target_": "${hydra:runtime.output_dir}"}}, r"a._target_: a value that cannot be resolved here"),
])
def test_every_target_is_found_resolved(node, key):
    with pytest.raises(ConfigError, match="^" + key + " is not allowed"):
        targets.check(OmegaConf.create(node))


def test_a_missing_or_self_referring_value_is_no_target():
    targets.check(OmegaConf.create({"a": "???", "b": {"c": "${b}"}, "_target_x": "os.system"}))


def test_the_python_api_checks_before_importing(tmp_path, monkeypatch):
    (tmp_path / "evilmod.py").write_text(f"open({str(tmp_path / 'M')!r}, 'w')\ndef build(): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = compose(*TINY, "tracking=none", "aggregator=clipping", "aggregator.inner={_target_: evilmod.build}")
    with pytest.raises(ConfigError, match=r"aggregator.inner._target_: 'evilmod.build' is not allowed"):
        instantiate(cfg, "aggregator")
    assert "evilmod" not in sys.modules and not (tmp_path / "M").exists()
