"""fedexp: federated-learning experiments from TFF's building blocks on TensorFlow 2.21.

The names below are imported on first use, so that `fedexp --help` and the start of a
run do not wait for TensorFlow before they need it.
"""

import importlib
import time

PROCESS_START = time.perf_counter()  # the first fedexp module a process loads: near its start
__version__ = "0.1.0"

_EXPORTS = {
    "templates": "fedexp.templates",
    "core": "fedexp.core",
    "compose_learning_process": "fedexp.templates.composers",
    "build_weighted_fed_avg": "fedexp.algorithms",
    "build_unweighted_fed_avg": "fedexp.algorithms",
    "build_fed_avg_with_gradient_clipping": "fedexp.algorithms",
    "build_fed_sgd": "fedexp.algorithms",
    "build_weighted_mime_lite": "fedexp.algorithms",
    "build_unweighted_mime_lite": "fedexp.algorithms",
    "build_weighted_fed_prox": "fedexp.algorithms",
    "build_unweighted_fed_prox": "fedexp.algorithms",
    "build_broadcast_process": "fedexp.distributor.broadcast",
    "build_model_delta_client_work": "fedexp.client_work.model_delta",
    "build_gradient_clipping_client_work": "fedexp.client_work.gradient_clipping",
    "build_fed_sgd_client_work": "fedexp.client_work.fed_sgd",
    "build_fedprox_client_work": "fedexp.client_work.fedprox",
    "build_mime_lite_client_work": "fedexp.client_work.mime_lite",
    "build_scaffold_client_work": "fedexp.client_work.scaffold",
    "ClientWeighting": "fedexp.client_work._result",
    "build_client_behavior": "fedexp.client_work._behavior",
    "build_sign_flip": "fedexp.attack.sign_flip",
    "build_gaussian_noise": "fedexp.attack.gaussian_noise",
    "build_label_flip": "fedexp.attack.label_flip",
    "build_little_is_enough": "fedexp.attack.little_is_enough",
    "build_random_dropout": "fedexp.dropout.random",
    "build_partial_work": "fedexp.stragglers.partial_work",
    "build_weighted_mean": "fedexp.aggregator.mean",
    "build_unweighted_mean": "fedexp.aggregator.unweighted_mean",
    "build_sum": "fedexp.aggregator.sum",
    "build_zeroing": "fedexp.aggregator.zeroing",
    "build_clipping": "fedexp.aggregator.clipping",
    "build_dp_gaussian": "fedexp.aggregator.dp_gaussian",
    "build_median": "fedexp.aggregator.median",
    "build_trimmed_mean": "fedexp.aggregator.trimmed_mean",
    "build_krum": "fedexp.aggregator.krum",
    "build_multi_krum": "fedexp.aggregator.multi_krum",
    "build_quantize": "fedexp.aggregator.quantize",
    "build_secure_sum": "fedexp.aggregator.secure_sum",
    "build_secure_quantized_sum": "fedexp.aggregator.secure_sum",
    "AggregationFactory": "fedexp.aggregator._factory",
    "MeanFactory": "fedexp.aggregator._factory",
    "UnweightedMeanFactory": "fedexp.aggregator._factory",
    "SumFactory": "fedexp.aggregator._factory",
    "SecureSumFactory": "fedexp.aggregator._factory",
    "clipping_factory": "fedexp.aggregator._factory",
    "zeroing_factory": "fedexp.aggregator._factory",
    "robust_aggregator": "fedexp.aggregator._factory",
    "compression_aggregator": "fedexp.aggregator._factory",
    "dp_aggregator": "fedexp.aggregator._factory",
    "secure_aggregator": "fedexp.aggregator._factory",
    "DifferentiallyPrivateFactory": "fedexp.aggregator._factory",
    "build_apply_optimizer_finalizer": "fedexp.finalizer.apply_optimizer",
    "build_sgdm": "fedexp.optimizer.sgd",
    "build_adam": "fedexp.optimizer.adam",
    "build_adamw": "fedexp.optimizer.adamw",
    "build_adafactor": "fedexp.optimizer.adafactor",
    "build_adagrad": "fedexp.optimizer.adagrad",
    "build_yogi": "fedexp.optimizer.yogi",
    "build_rmsprop": "fedexp.optimizer.rmsprop",
    "ModelWeights": "fedexp.model._functional",
    "from_keras_model": "fedexp.model._keras",
    "functional_model_from_keras": "fedexp.model._keras",
    "weights_type": "fedexp.model._functional",
    "Cohort": "fedexp.templates.client_data",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'fedexp' has no attribute {name!r}")
    module = importlib.import_module(_EXPORTS[name])
    value = module if name in ("templates", "core") else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_EXPORTS])
