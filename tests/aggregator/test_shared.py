"""Chained aggregators: TFF's factory nesting, written as nested YAML."""

import numpy as np
import pytest
import tensorflow as tf

from fedexp.aggregator.clipping import build_clipping
from fedexp.aggregator.mean import build_weighted_mean
from fedexp.aggregator.unweighted_mean import build_unweighted_mean
from fedexp.aggregator.zeroing import build_zeroing
from fedexp.runner.build import instantiate
from fedexp.errors import ConfigError
from tests.conftest import TINY, compose

VALUE_TYPE = (tf.TensorSpec([2]),)


def test_a_chain_reports_each_stage_under_its_name_and_mirrors_the_inner_weighting():
    chain = build_zeroing(VALUE_TYPE, build_clipping(VALUE_TYPE, build_weighted_mean(VALUE_TYPE), clip_norm=1.0), zeroing_norm=10.0)
    assert chain.is_weighted
    out = chain.next(chain.initialize(), (np.array([[3.0, 4.0], [30.0, 40.0]], np.float32),), [1.0, 3.0])
    assert set(out.measurements) == {"zeroing", "clipping", "mean"}
    np.testing.assert_allclose(out.result[0], [0.6 / 4, 0.8 / 4], rtol=1e-6)  # zeroed client keeps its weight
    assert not build_clipping(VALUE_TYPE, build_unweighted_mean(VALUE_TYPE)).is_weighted


def test_hparams_of_every_stage_are_read_and_set():
    chain = build_zeroing(VALUE_TYPE, build_clipping(VALUE_TYPE, build_weighted_mean(VALUE_TYPE), clip_norm=1.0), zeroing_norm=10.0)
    state = chain.initialize()
    assert {k: {n: float(v) for n, v in h.items()} for k, h in chain.get_hparams(state).items()} == {
        "zeroing": {"zeroing_norm": 10.0}, "clipping": {"clip_norm": 1.0}}
    state = chain.set_hparams(state, {"zeroing": {"zeroing_norm": 5.0}, "clipping": {"clip_norm": 0.5}})
    out = chain.next(state, (np.array([[3.0, 4.0]], np.float32),), [1.0])
    np.testing.assert_allclose(out.result[0], [0.3, 0.4], rtol=1e-6)


def test_two_stages_with_one_name_are_refused():
    with pytest.raises(ValueError, match="two aggregator stages are named 'clipping'"):
        build_clipping(VALUE_TYPE, build_clipping(VALUE_TYPE, build_weighted_mean(VALUE_TYPE)))


def test_nested_yaml_builds_the_chain_with_errors_naming_the_nested_key():
    cfg = compose(*TINY, "+algo=robust_fedavg")
    chain = instantiate(cfg, "aggregator", value_type=VALUE_TYPE)
    assert set(chain.next_fn.result_type.measurements) == {"zeroing", "clipping", "mean"}
    with pytest.raises(ConfigError, match="aggregator.inner.clip_norm must be a number > 0, found -1"):
        instantiate(compose(*TINY, "+algo=robust_fedavg", "aggregator.inner.clip_norm=-1"), "aggregator",
                    value_type=VALUE_TYPE)
