"""The ready compositions equal their presets: the Python defaults and the YAML agree."""

import pytest
import tensorflow as tf

import fedexp
from fedexp.model.linear import build_linear
from fedexp.runner.build import build_experiment, instantiate
from tests.conftest import TINY, compose


def hparams(process):
    return tf.nest.map_structure(float, process.get_hparams(process.initialize()))


@pytest.mark.parametrize("preset, build", [
    ("fedavg", fedexp.build_weighted_fed_avg),
    ("fedavg_unweighted", fedexp.build_unweighted_fed_avg),
    ("fedavg_clip", fedexp.build_fed_avg_with_gradient_clipping),
])
def test_the_python_defaults_are_the_presets(preset, build):
    cfg = compose(*TINY, f"+algo={preset}")
    from_yaml = build_experiment(cfg).process
    from_python = build(instantiate(cfg, "model"), instantiate(cfg, "client_optimizer"))
    assert from_python.next_fn.type_signature == from_yaml.next_fn.type_signature  # the same blocks
    assert hparams(from_python) == hparams(from_yaml)


def test_fed_sgd_takes_its_server_optimizer_explicitly():
    with pytest.raises(TypeError, match="server_optimizer"):
        fedexp.build_fed_sgd(build_linear())  # TFF's default (0.1) is not the preset's (0.5)
