"""The ready compositions equal their presets: the Python defaults and the YAML agree."""

import numpy as np
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
    ("fedprox", lambda model_fn, optimizer: fedexp.build_weighted_fed_prox(model_fn, 0.01, optimizer)),
    ("mime_lite", fedexp.build_weighted_mime_lite),
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


def test_tff_spellings_build_the_same_process(linear_fn):
    """TFF's keyword names and positional learning rates (`build_sgdm(0.02)`), as its tutorials write them."""
    keywords = fedexp.build_weighted_fed_avg(linear_fn, client_optimizer_fn=fedexp.build_sgdm(0.02),
                                             server_optimizer_fn=fedexp.build_adam(0.01))
    assert hparams(keywords)["client_work"]["learning_rate"] == pytest.approx(0.02)
    assert hparams(keywords)["finalizer"]["learning_rate"] == pytest.approx(0.01)
    sgd = fedexp.build_fed_sgd(linear_fn, server_optimizer_fn=fedexp.build_sgdm(0.5, 0.9))
    assert hparams(sgd)["finalizer"] == {"learning_rate": 0.5, "momentum": pytest.approx(0.9)}
    for optimizer, expected in ((fedexp.build_yogi(0.02, initial_preconditioner_value=1e-5), 1e-5),
                                (fedexp.build_adagrad(0.02, initial_preconditioner_value=0.2), 0.2)):
        weights = [tf.zeros([2])]
        state = optimizer.initialize(weights)
        assert float(optimizer.get_hparams(state)["learning_rate"]) == pytest.approx(0.02)
        assert float(tf.reduce_max(tf.nest.flatten(state["slots"])[-1])) == pytest.approx(expected)


def test_model_weights_of_any_structure_of_arrays_are_taken_and_a_wrong_shape_is_refused(linear_fn):
    import numpy as np
    process = fedexp.build_weighted_fed_avg(linear_fn, fedexp.build_sgdm(0.1))
    state = process.initialize()
    given = [np.full(w.shape, 0.5, np.float32) for w in process.get_model_weights(state).trainable]
    state = process.set_model_weights(state, fedexp.ModelWeights(trainable=given, non_trainable=[]))  # lists, arrays
    assert all(np.array_equal(w, g) for w, g in zip(process.get_model_weights(state).trainable, given))
    wrong = fedexp.ModelWeights(trainable=[np.zeros((5, 3), np.float32), np.zeros(3, np.float32)], non_trainable=[])
    with pytest.raises(TypeError, match=r"set_model_weights: the arguments do not fit its signature .*float32\[5,3\]"):
        process.set_model_weights(state, wrong)


def test_fed_prox_without_its_term_is_fed_avg_and_with_it_pulls_clients_toward_the_server(linear_fn):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4, 6)).astype(np.float32)
    cohort = fedexp.Cohort(x, rng.integers(0, 3, (2, 3, 4)).astype(np.int32), np.ones((2, 3, 4), np.float32),
                           np.arange(2))
    def moved(process):
        state = process.initialize()
        before = process.get_model_weights(state).trainable
        after = process.get_model_weights(process.next(state, cohort).state).trainable
        return float(tf.linalg.global_norm([a - b for a, b in zip(after, before)]))
    optimizer = fedexp.build_sgdm(0.5)
    fed_avg = moved(fedexp.build_weighted_fed_avg(linear_fn, optimizer))
    assert moved(fedexp.build_weighted_fed_prox(linear_fn, 0.0, optimizer)) == pytest.approx(fed_avg, rel=1e-6)
    assert moved(fedexp.build_weighted_fed_prox(linear_fn, 1.0, optimizer)) < fed_avg  # the paper's sign
    assert moved(fedexp.build_unweighted_fed_prox(linear_fn, 1.0, optimizer)) < moved(
        fedexp.build_unweighted_fed_avg(linear_fn, optimizer))


@pytest.mark.parametrize("builder, keywords, key", [
    (fedexp.build_weighted_fed_avg, {"client_optimizer_fn": lambda: tf.keras.optimizers.SGD(0.02)}, "client_optimizer_fn"),
    (fedexp.build_weighted_fed_prox, {"proximal_strength": 0.1, "client_optimizer_fn": "sgd"}, "client_optimizer_fn"),
    (fedexp.build_fed_sgd, {"server_optimizer_fn": lambda: tf.keras.optimizers.SGD(1.0)}, "server_optimizer_fn"),
])
def test_an_optimizer_that_is_not_fedexps_is_refused_in_one_line(linear_fn, builder, keywords, key):
    """TFF's older Keras-optimizer form, `lambda: tf.keras.optimizers.SGD(0.02)`, says what to write instead."""
    with pytest.raises(ValueError, match=rf"^{key} must be a fedexp optimizer \(fedexp.build_sgdm\(0.02\), .*"
                                         r"TFF's `lambda: tf.keras.optimizers.SGD\(0.02\)` is fedexp.build_sgdm"):
        builder(linear_fn, **keywords)


@pytest.mark.parametrize("weighted", [True, False])
def test_mime_lite_builders_run_the_presets_round(weighted):
    """build_weighted/unweighted_mime_lite = the `mime_lite` preset (with uniform weights and the unweighted
    mean for the unweighted one): from the same weights, one round on the same cohort gives the same state."""
    extra = [] if weighted else ["client_work.client_weighting=uniform", "aggregator=unweighted_mean"]
    cfg = compose(*TINY, "+algo=mime_lite", *extra)
    experiment = build_experiment(cfg)
    preset = experiment.process
    build = fedexp.build_weighted_mime_lite if weighted else fedexp.build_unweighted_mime_lite
    built = build(instantiate(cfg, "model"), instantiate(cfg, "client_optimizer"), fedexp.build_sgdm(1.0))
    assert built.next_fn.type_signature == preset.next_fn.type_signature and hparams(built) == hparams(preset)
    state = preset.initialize()
    cohort = experiment.data.train.cohort([0, 1, 2], batch_size=4, seed=[0, 2, 0])
    ours, theirs = built.next(state, cohort).state, preset.next(state, cohort).state
    for a, b in zip(tf.nest.flatten(ours), tf.nest.flatten(theirs)):
        np.testing.assert_array_equal(a, b)
