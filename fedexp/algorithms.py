"""Ready compositions: FedAvg (weighted, unweighted, with client gradient clipping), FedProx (weighted,
unweighted) and FedSGD, by TFF's names and arguments."""

from fedexp.aggregator._factory import AggregationFactory
from fedexp.aggregator.mean import build_weighted_mean
from fedexp.aggregator.unweighted_mean import build_unweighted_mean
from fedexp.client_work.fed_sgd import build_fed_sgd_client_work
from fedexp.client_work.fedprox import build_fedprox_client_work
from fedexp.client_work.gradient_clipping import build_gradient_clipping_client_work
from fedexp.client_work.mime_lite import build_mime_lite_client_work
from fedexp.client_work.model_delta import build_model_delta_client_work
from fedexp.client_work._result import ClientWeighting
from fedexp.distributor.broadcast import build_broadcast_process
from fedexp.finalizer.apply_optimizer import build_apply_optimizer_finalizer
from fedexp.model._functional import initial_weights_fn, weights_type
from fedexp.optimizer.sgd import build_sgdm
from fedexp.templates.composers import compose_learning_process


def _compose(model_fn, client_work, server_optimizer, model_aggregator=None, *, weighted=True, name):
    """Broadcast, `client_work`, `model_aggregator` (a factory, TFF's form; default: the (weighted) mean)
    and a server optimizer, composed."""
    weights = weights_type(model_fn())
    if model_aggregator is None:
        aggregator = build_weighted_mean(weights.trainable) if weighted else build_unweighted_mean(weights.trainable)
    elif isinstance(model_aggregator, AggregationFactory):
        aggregator = model_aggregator.create(weights.trainable)
    else:
        raise TypeError(f"model_aggregator must be an aggregation factory (MeanFactory(), clipping_factory(...), "
                        f"...), found {type(model_aggregator).__name__}")
    return compose_learning_process(
        initial_weights_fn(model_fn), build_broadcast_process(weights), client_work, aggregator,
        build_apply_optimizer_finalizer(server_optimizer, weights), name=name)


def build_weighted_fed_avg(model_fn, client_optimizer_fn, server_optimizer_fn=None, *,
                           client_weighting=ClientWeighting.NUM_EXAMPLES, model_aggregator=None, batched="auto"):
    """FedAvg (McMahan et al. 2017), as TFF's `build_weighted_fed_avg` (its argument names): `model_fn` a
    no-argument function returning a compiled Keras model, `client_optimizer_fn` the clients' optimizer
    (`build_sgdm(0.02)`, …), `server_optimizer_fn` the server's (default: SGD with learning rate 1, as TFF
    and the `fedavg` preset),
    `client_weighting` by examples or uniform, `model_aggregator` a factory (`MeanFactory()`, the default;
    `clipping_factory(1.0, MeanFactory())`, …) built for the model's weights, `batched` trains the cohort side by side ("auto":
    for models of dense layers). Returns a `LearningProcess`:
    `next: (<S@SERVER, Cohort@CLIENTS> -> <state=S@SERVER, metrics=M@SERVER>)`."""
    return _compose(
        model_fn, build_model_delta_client_work(model_fn, client_optimizer_fn, client_weighting, batched=batched),
        server_optimizer_fn or build_sgdm(learning_rate=1.0), model_aggregator, name="fed_avg")


def build_unweighted_fed_avg(model_fn, client_optimizer_fn, server_optimizer_fn=None, *, model_aggregator=None,
                             batched="auto"):
    """FedAvg where every client's update counts the same (the `fedavg_unweighted` preset).
    Arguments as `build_weighted_fed_avg`'s. Returns a `LearningProcess`."""
    return _compose(
        model_fn, build_model_delta_client_work(model_fn, client_optimizer_fn, ClientWeighting.UNIFORM,
                                                batched=batched),
        server_optimizer_fn or build_sgdm(learning_rate=1.0), model_aggregator, weighted=False,
        name="unweighted_fed_avg")


def build_fed_avg_with_gradient_clipping(model_fn, client_optimizer_fn, server_optimizer_fn=None, *, clip_norm=1.0,
                                         client_weighting=ClientWeighting.NUM_EXAMPLES, model_aggregator=None,
                                         batched="auto"):
    """The seed tutorial's algorithm (the `fedavg_clip` preset): FedAvg whose clients clip each
    step's gradient to `clip_norm`. Other arguments as `build_weighted_fed_avg`'s. Returns a
    `LearningProcess`."""
    return _compose(
        model_fn, build_gradient_clipping_client_work(model_fn, client_optimizer_fn, clip_norm, client_weighting,
                                                      batched=batched),
        server_optimizer_fn or build_sgdm(learning_rate=1.0), model_aggregator, name="fed_avg_clip")


def build_weighted_fed_prox(model_fn, proximal_strength, client_optimizer_fn, server_optimizer_fn=None, *,
                            client_weighting=ClientWeighting.NUM_EXAMPLES, model_aggregator=None, batched="auto"):
    """FedProx (Li et al. 2020), as TFF's `build_weighted_fed_prox`: FedAvg whose clients add
    `proximal_strength` * (w - w_global) to every gradient, pulling them toward the server's model (the
    paper's term; TFF 0.87 adds it with the opposite sign, pushing clients away, against its own
    docstring). Other arguments as `build_weighted_fed_avg`'s. Returns a `LearningProcess`; raises
    ValueError unless `proximal_strength` >= 0."""
    return _compose(
        model_fn, build_fedprox_client_work(model_fn, client_optimizer_fn, proximal_strength, client_weighting,
                                            batched=batched),
        server_optimizer_fn or build_sgdm(learning_rate=1.0), model_aggregator, name="fed_prox")


def build_unweighted_fed_prox(model_fn, proximal_strength, client_optimizer_fn, server_optimizer_fn=None, *,
                              model_aggregator=None, batched="auto"):
    """FedProx where every client's update counts the same, as TFF's `build_unweighted_fed_prox`.
    Arguments as `build_weighted_fed_prox`'s. Returns a `LearningProcess`."""
    return _compose(
        model_fn, build_fedprox_client_work(model_fn, client_optimizer_fn, proximal_strength, ClientWeighting.UNIFORM,
                                            batched=batched),
        server_optimizer_fn or build_sgdm(learning_rate=1.0), model_aggregator, weighted=False,
        name="unweighted_fed_prox")


def build_weighted_mime_lite(model_fn, base_optimizer, server_optimizer=None, client_weighting=ClientWeighting.NUM_EXAMPLES,
                             *, model_aggregator=None, batched="auto"):
    """MimeLite (`build_mime_lite_client_work`): clients step with `base_optimizer`'s state held at the
    server's, which the clients' full gradients (weighted as the updates) advance; the server moves the
    weights by `server_optimizer` (default: SGD with learning rate 1, as TFF's) on the weighted mean update
    (or `model_aggregator`). TFF's `full_gradient_aggregator=` is not taken: the gradients' mean is weighted
    as the updates. Returns a `LearningProcess`; the `mime_lite` preset."""
    return _compose(
        model_fn, build_mime_lite_client_work(model_fn, base_optimizer, client_weighting, batched=batched),
        server_optimizer or build_sgdm(learning_rate=1.0), model_aggregator, name="mime_lite")


def build_unweighted_mime_lite(model_fn, base_optimizer, server_optimizer=None, *, model_aggregator=None,
                               batched="auto"):
    """`build_weighted_mime_lite` with every client weighted alike. Returns a `LearningProcess`."""
    return _compose(
        model_fn, build_mime_lite_client_work(model_fn, base_optimizer, ClientWeighting.UNIFORM, batched=batched),
        server_optimizer or build_sgdm(learning_rate=1.0), model_aggregator, weighted=False, name="mime_lite")


def build_fed_sgd(model_fn, server_optimizer_fn, *, client_weighting=ClientWeighting.NUM_EXAMPLES,
                  model_aggregator=None):
    """FedSGD: the server takes an optimizer step on the clients' mean gradient. `server_optimizer_fn`
    has no default (TFF's is SGD 0.1; the `fedsgd` preset's SGD 0.5). Returns a `LearningProcess`."""
    return _compose(
        model_fn, build_fed_sgd_client_work(model_fn, client_weighting), server_optimizer_fn, model_aggregator,
        name="fed_sgd")
