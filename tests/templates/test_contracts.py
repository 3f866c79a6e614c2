"""Each broken contract raises its named error, naming the block and showing expected vs found."""

import pytest
import tensorflow as tf

import fedexp
from fedexp.templates import (
    AggregationProcess, ClientResult, ClientWorkProcess, Computation, DistributionProcess, FinalizerProcess,
    LearningProcess, MeasuredProcess, MeasuredProcessOutput, at_clients, errors)

W = (tf.TensorSpec([3]),)  # a one-tensor "model"
DATA = at_clients(tf.TensorSpec([None, 3]))


def no_state():
    return ()


def init():
    return Computation(no_state)


def client_work(next_fn, *types, name="broken"):
    return ClientWorkProcess(init(), Computation(next_fn, (), *types), name=name)


def good_work(state, weights, data):
    return MeasuredProcessOutput(state, ClientResult(weights, tf.reduce_sum(data, [1, 2])), ())


def test_init_fn_with_parameters():
    def initialize(x):
        return x
    with pytest.raises(errors.TemplateInitFnParamNotEmptyError, match="client_work 'broken': initialize_fn must take no"):
        ClientWorkProcess(Computation(initialize, tf.TensorSpec([])), Computation(good_work, (), at_clients(W), DATA),
                          name="broken")


def test_next_fn_with_the_wrong_number_of_arguments():
    def next_fn(state, weights):
        return MeasuredProcessOutput(state, ClientResult(weights, tf.zeros([3])), ())
    with pytest.raises(errors.TemplateNextFnNumArgsError, match="must take 3 argument.s., found 2"):
        client_work(next_fn, at_clients(W))


def test_state_not_assignable():
    def initialize():
        return tf.constant(0, tf.int32)

    def next_fn(state, value):
        return MeasuredProcessOutput(tf.cast(state, tf.float32), value, ())
    with pytest.raises(errors.TemplateStateNotAssignableError, match="expected int32@SERVER, found float32@SERVER"):
        MeasuredProcess(Computation(initialize), Computation(next_fn, tf.TensorSpec([], tf.int32), tf.TensorSpec([])))


def test_not_a_measured_process_output():
    def next_fn(state, weights, data):
        return state, ClientResult(weights, tf.zeros([3])), ()
    with pytest.raises(errors.TemplateNotMeasuredProcessOutputError, match="must return a MeasuredProcessOutput"):
        client_work(next_fn, at_clients(W), DATA)


def test_measurements_mixing_placements_are_not_federated():
    def next_fn(state, weights, data):
        measurements = {"per_client": tf.reduce_sum(data, [1, 2]), "total": tf.reduce_sum(data)}
        return MeasuredProcessOutput(state, ClientResult(weights, tf.reduce_sum(data, [1, 2])), measurements)
    with pytest.raises(errors.TemplateNotFederatedError, match="measurements: expected a value placed at SERVER"):
        client_work(next_fn, at_clients(W), DATA)


def test_measurements_at_clients_are_misplaced():
    def next_fn(state, weights, data):
        return MeasuredProcessOutput(state, ClientResult(weights, tf.reduce_sum(data, [1, 2])),
                                     {"loss": tf.reduce_sum(data, [1, 2])})
    with pytest.raises(errors.TemplatePlacementError, match=r"found <loss=float32\[\?\]>@CLIENTS"):
        client_work(next_fn, at_clients(W), DATA)


def test_client_work_must_return_a_client_result():
    def next_fn(state, weights, data):
        return MeasuredProcessOutput(state, (weights, tf.reduce_sum(data, [1, 2])), ())
    with pytest.raises(errors.ClientResultTypeError, match="must be a ClientResult"):
        client_work(next_fn, at_clients(W), DATA)


def test_distributor_must_send_to_clients():
    def next_fn(state, weights):
        return MeasuredProcessOutput(state, weights, ())
    with pytest.raises(errors.TemplatePlacementError, match="distributor 'keep': next_fn's result: expected a value "
                                                            r"placed at CLIENTS, found <float32\[3\]>@SERVER"):
        DistributionProcess(init(), Computation(next_fn, (), W), name="keep")


def aggregator(next_fn, *types):
    return AggregationProcess(init(), Computation(next_fn, (), *types), name="broken")


def test_aggregation_result_left_at_clients():
    def next_fn(state, value):
        return MeasuredProcessOutput(state, value, ())
    with pytest.raises(errors.AggregationPlacementError, match=r"result: expected a value placed at SERVER"):
        aggregator(next_fn, at_clients(W))


def test_aggregation_value_argument_at_server():
    def next_fn(state, value):
        return MeasuredProcessOutput(state, value, ())
    with pytest.raises(errors.AggregationPlacementError, match="value argument: expected a value placed at CLIENTS"):
        aggregator(next_fn, W)


def test_aggregation_measurements_not_federated():
    def next_fn(state, value):
        total = tf.reduce_sum(value[0], 0)
        return MeasuredProcessOutput(state, (total,), {"norms": tf.norm(value[0], axis=1), "max": tf.reduce_max(total)})
    with pytest.raises(errors.AggregationNotFederatedError, match="leaves placed at both SERVER and CLIENTS"):
        aggregator(next_fn, at_clients(W))


def test_aggregation_result_of_another_type():
    def next_fn(state, value):
        return MeasuredProcessOutput(state, (tf.reduce_sum(value[0]),), ())
    with pytest.raises(errors.AggregationValueTypeMismatchError,
                       match=r"expected <float32\[3\]>@SERVER, found <float32>@SERVER"):
        aggregator(next_fn, at_clients(W))


def test_finalizer_returning_something_else_than_the_weights():
    def next_fn(state, weights, update):
        return MeasuredProcessOutput(state, update[0], ())
    with pytest.raises(errors.FinalizerResultTypeError,
                       match=r"finalizer 'broken'.*expected <float32\[3\]>@SERVER, found float32\[3\]@SERVER"):
        FinalizerProcess(init(), Computation(next_fn, (), W, W), name="broken")


def test_get_hparams_of_another_state():
    def get_hparams(state):
        return {"lr": state}
    with pytest.raises(errors.GetHparamsTypeError, match="must take the state <>"):
        ClientWorkProcess(init(), Computation(good_work, (), at_clients(W), DATA),
                          Computation(get_hparams, tf.TensorSpec([])))


def test_set_hparams_returning_another_state():
    def initialize():
        return {"lr": tf.constant(0.1)}

    def next_fn(state, weights, data):
        return MeasuredProcessOutput(state, ClientResult(weights, tf.reduce_sum(data, [1, 2])), ())

    def get_hparams(state):
        return state

    def set_hparams(state, hparams):
        return hparams["lr"]
    state = {"lr": tf.TensorSpec([])}
    with pytest.raises(errors.SetHparamsTypeError, match="set_hparams_fn must map"):
        ClientWorkProcess(Computation(initialize), Computation(next_fn, state, at_clients(W), DATA),
                          Computation(get_hparams, state), Computation(set_hparams, state, state))


def test_learning_process_must_return_a_learning_process_output():
    def next_fn(state, data):
        return state, {}

    def get_weights(state):
        return state

    def set_weights(state, weights):
        return weights
    s = tf.TensorSpec([3])

    def initialize():
        return tf.zeros([3])
    with pytest.raises(errors.LearningProcessOutputError, match="must return a LearningProcessOutput"):
        LearningProcess(Computation(initialize), Computation(next_fn, s, DATA), Computation(get_weights, s),
                        Computation(set_weights, s, s))


# The composer's own contracts.

@pytest.fixture(scope="module")
def blocks(linear_fn):
    weights = fedexp.weights_type(linear_fn())
    return dict(
        initial_model_weights_fn=lambda: fedexp.ModelWeights.from_model(linear_fn()),
        model_weights_distributor=fedexp.build_broadcast_process(weights),
        client_work=fedexp.build_model_delta_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1)),
        model_update_aggregator=fedexp.build_weighted_mean(weights.trainable),
        model_finalizer=fedexp.build_apply_optimizer_finalizer(fedexp.build_sgdm(learning_rate=0.1), weights))


def test_a_block_of_the_wrong_role(blocks):
    with pytest.raises(errors.BlockRoleError, match="the client_work must be a ClientWorkProcess, found "
                                                    "AggregationProcess 'mean'"):
        fedexp.compose_learning_process(**{**blocks, "client_work": blocks["model_update_aggregator"]})


def test_an_aggregator_for_another_update_type(blocks):
    other = fedexp.build_weighted_mean((tf.TensorSpec([6, 3]),))
    with pytest.raises(errors.ClientUpdateTypeError,
                       match=r"aggregator 'mean': must accept the client work's update; expected "
                             r"<float32\[6,3\],float32\[3\]>@SERVER, found <float32\[6,3\]>@SERVER"):
        fedexp.compose_learning_process(**{**blocks, "model_update_aggregator": other})


def test_an_unweighted_aggregator_composes(blocks):
    unweighted = fedexp.build_unweighted_mean(blocks["model_update_aggregator"].value_type)
    fedexp.compose_learning_process(**{**blocks, "model_update_aggregator": unweighted})


def test_a_finalizer_for_another_model(blocks):
    from fedexp.model.linear import build_linear
    other = fedexp.weights_type(build_linear(input_shape=(5,), num_classes=3)())
    finalizer = fedexp.build_apply_optimizer_finalizer(fedexp.build_sgdm(learning_rate=0.1), other)
    with pytest.raises(errors.ModelWeightsTypeError, match="finalizer 'apply_optimizer': must take and return the "
                                                           "model weights"):
        fedexp.compose_learning_process(**{**blocks, "model_finalizer": finalizer})


def test_every_error_is_a_type_error():
    assert all(issubclass(getattr(errors, name), TypeError) for name in dir(errors) if name.endswith("Error"))
