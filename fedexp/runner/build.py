"""From a resolved config to a runnable experiment (DESIGN decision 5).

Hydra instantiates every component from its YAML (`_target_` + hyperparameters);
what depends on the model is injected here, by parameter name, into the builders
that ask for it: `model_fn`, `optimizer`, `model_weights_type`, `value_type`, `devices`,
`num_clients` (stateful client work, aggregators), and for aggregators `clients_per_round` and `seed`.
"""

import difflib
import inspect
import re
from typing import Any, Callable, NamedTuple

import hydra
from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf, open_dict

from fedexp import checks, targets
from fedexp.client_work._behavior import build_client_behavior
from fedexp.data._federated import FederatedSplit
from fedexp.errors import ConfigError, InvalidValueError
from fedexp.evaluation import build_centralized_evaluation, build_federated_evaluation
from fedexp.runner.config import BEHAVIORS
from fedexp.model._functional import functional_model, initial_weights_fn
from fedexp.schedules import build_schedules, check_schedules
from fedexp.templates import LearningProcess, TemplateError, compose_learning_process


class Experiment(NamedTuple):
    process: LearningProcess
    data: FederatedSplit
    model_fn: Callable[[], Any]
    evaluate: Callable[[Any, int], dict]  # (weights, round_num) -> {"eval/accuracy": ..., ...}
    schedules: dict = {}  # hyperparameter path -> round -> value
    sampled: int = 0  # clients sampled each round (more than clients_per_round with dropout's over-selection)


def instantiate(cfg, key, **available):
    """Instantiates `cfg[key]`, passing those of `available` that its builder takes.

    A builder's error becomes a `ConfigError` naming the key: an `InvalidValueError` carries its
    key (`client_optimizer.learning_rate must be ...`), any other error is put after the node's.
    """
    node = OmegaConf.select(cfg, key)
    if node is None:
        return None
    targets.check(node, key)  # before anything it names is imported (the Python API may skip `validate`)
    # Nested components (an aggregator's `inner`) first, with the same injections: TFF's factory nesting.
    nested = {k: instantiate(cfg, f"{key}.{k}", **available) for k, v in node.items()
              if isinstance(v, DictConfig) and "_target_" in v}
    params = {}
    try:
        params = inspect.signature(hydra.utils.get_method(node._target_)).parameters
        injected = {k: v for k, v in available.items() if k in params and v is not None}
        return hydra.utils.instantiate(node, **injected, **nested, _convert_="all")
    except InstantiationException as e:
        cause = e.__cause__ or e
        if isinstance(cause, InvalidValueError):
            raise ConfigError(f"{key}.{cause}") from None
        raise ConfigError(f"{key}: {cause}{nearest_key(cause, params, key)}") from None
    except (ValueError, TypeError, ImportError) as e:
        raise ConfigError(f"{key}: {e}") from None


def nearest_key(error, params, key) -> str:
    """For a builder's "unexpected keyword argument 'lr'": "; did you mean client_optimizer.learning_rate?"."""
    typo = re.search(r"unexpected keyword argument '(\w+)'", str(error))
    allowed = [p for p in params if params[p].kind in (inspect.Parameter.KEYWORD_ONLY,
                                                       inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    near = difflib.get_close_matches(typo.group(1), allowed, n=1, cutoff=0.5) if typo else []
    if typo and typo.group(1) == "lr" and "learning_rate" in allowed:  # PyTorch's name for it
        near = ["learning_rate"]
    return f"; did you mean {key}.{near[0]}?" if near else ""


def build_experiment(cfg, devices=()) -> Experiment:
    """`devices`: where the cohort's clients train; with several, the cohort is split across them.

    A model whose `input_shape` or `num_classes` is null takes it from the data; the value
    is written into `cfg`, so that the record shows it."""
    data = instantiate(cfg, "data")
    with open_dict(cfg):
        for key, value in (("input_shape", list(data.train.x.shape[1:])), ("num_classes", data.num_classes)):
            if key in cfg.model and cfg.model[key] is None:
                cfg.model[key] = value
    model_fn = instantiate(cfg, "model")
    try:
        model = functional_model(model_fn)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"model: {e}") from None
    try:
        data = data.reshaped(model.feature_shape)
    except ValueError as e:
        raise ConfigError(f"model.input_shape: {e}") from None
    outputs = model.keras_model.outputs[0].shape[-1]
    if outputs != 1 and outputs < data.num_classes:  # one output: binary or regression, its own loss
        raise ConfigError(f"model.num_classes: the model has {outputs} outputs, but the data has {data.num_classes} "
                          f"classes (labels 0..{data.num_classes - 1}); leave it null to take it from the data")
    checks.require("clients_per_round", cfg.clients_per_round, cfg.clients_per_round <= data.train.num_clients,
                   f"at most the number of clients ({data.train.num_clients})")
    weights = model.weights_type
    client_work, sampled = with_behavior(cfg, data, instantiate(
        cfg, "client_work", model_fn=model_fn, devices=tuple(devices), optimizer=instantiate(cfg, "client_optimizer"),
        num_clients=data.train.num_clients))
    blocks = dict(
        model_weights_distributor=instantiate(cfg, "distributor", model_weights_type=weights),
        client_work=client_work,
        model_update_aggregator=instantiate(cfg, "aggregator", value_type=weights.trainable, seed=cfg.seed,
                                            clients_per_round=cfg.clients_per_round,
                                            num_clients=data.train.num_clients),
        model_finalizer=instantiate(cfg, "finalizer", model_weights_type=weights,
                                    optimizer=instantiate(cfg, "server_optimizer")))
    try:
        process = compose_learning_process(initial_weights_fn(model_fn), **blocks, jit_compile=cfg.jit_compile)
    except TemplateError as e:
        raise ConfigError(f"the blocks do not compose: {e}") from None
    try:
        tree = OmegaConf.to_container(cfg.schedules, resolve=True) if cfg.get("schedules") else {}
        schedules = build_schedules(tree, process.get_hparams(process.initialize()))
        check_schedules(schedules, cfg.num_rounds)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return Experiment(process, data, model_fn, build_evaluation(cfg, model_fn, data), schedules, sampled)


def with_behavior(cfg, data, client_work):
    """(the client work with `attack`, `dropout` and `stragglers` when the config has them, how many clients
    a round samples)."""
    behavior = {key: instantiate(cfg, key) for key in BEHAVIORS}
    if not any(behavior.values()):
        return client_work, cfg.clients_per_round
    if behavior["dropout"] and any(name == "_target_" and "krum" in str(target)
                                   for _, name, target in targets.leaves(cfg.aggregator)):
        raise ConfigError("dropout: krum needs 2f + 3 reporting clients every round, which clients that fail to "
                          "report cannot promise; use median or trimmed_mean with dropout")
    sampled = behavior["dropout"].sampled(cfg.clients_per_round) if behavior["dropout"] else cfg.clients_per_round
    if sampled > data.train.num_clients:
        raise ConfigError(f"dropout.over_selection: {sampled} clients a round is more than the {data.train.num_clients} "
                          f"there are")
    try:
        work = build_client_behavior(client_work, num_clients=data.train.num_clients, seed=cfg.seed,
                                     clients_per_round=cfg.clients_per_round, num_classes=data.num_classes, **behavior)
    except InvalidValueError as e:
        raise ConfigError(str(e)) from None
    return work, sampled



def build_evaluation(cfg, model_fn, data):
    """`evaluate(weights, round_num) -> metrics`: centralized (`eval/…`) and federated
    (`eval_federated/…`), as `cfg.evaluation` switches them."""
    ev = cfg.evaluation
    for key in ("centralized", "federated"):
        checks.boolean(f"evaluation.{key}", ev.get(key))
    if not (ev.centralized or ev.federated):
        raise ConfigError("evaluation: centralized and federated are both false; switch at least one on")
    parts = {}
    if ev.centralized:
        centralized = build_centralized_evaluation(model_fn, data.test_x, data.test_y)
        parts["eval"] = lambda weights, round_num: centralized(weights)
    if ev.federated:
        try:
            parts["eval_federated"] = build_federated_evaluation(
                model_fn, data.test, clients_per_round=ev.clients_per_round, seed=cfg.seed)
        except InvalidValueError as e:
            raise ConfigError(f"evaluation.{e}") from None

    def evaluate(weights, round_num):
        return {f"{prefix}/{k}": float(v) for prefix, fn in parts.items() for k, v in fn(weights, round_num).items()}
    return evaluate
