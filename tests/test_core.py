"""TFF's federated core run locally (`fedexp.core`): values by hand, and each error in one line."""

import re

import numpy as np
import pytest
import tensorflow as tf

from fedexp import core

FLOATS_AT_CLIENTS = core.FederatedType(np.float32, core.CLIENTS)


def test_weighted_mean_sum_value_and_map_at_the_server_by_hand():
    @core.tf_computation(tf.TensorSpec([2]))
    def double(v):
        return 2.0 * v

    @core.federated_computation(core.FederatedType(tf.TensorSpec([2]), core.CLIENTS), FLOATS_AT_CLIENTS)
    def stats(values, weights):
        mean = core.federated_mean(values, weights)
        return (core.federated_map(double, mean), core.federated_sum(values),
                core.federated_mean(core.federated_broadcast(core.federated_value(np.array([1.0, 3.0], np.float32), core.SERVER))))

    assert str(stats.type_signature) == \
        '(<{float32[2]}@CLIENTS,{float32}@CLIENTS> -> <float32[2]@SERVER,float32[2]@SERVER,float32[2]@SERVER>)'
    doubled, total, same = stats([[1.0, 2.0], [4.0, 8.0]], [3.0, 1.0])
    np.testing.assert_allclose(doubled, 2 * (3 * np.array([1.0, 2.0]) + np.array([4.0, 8.0])) / 4)
    np.testing.assert_allclose(total, [5.0, 10.0])
    np.testing.assert_allclose(same, [1.0, 3.0])


def test_a_federated_computation_calls_another_on_its_values():
    @core.federated_computation(FLOATS_AT_CLIENTS)
    def mean(x):
        return core.federated_mean(x)

    @core.federated_computation(FLOATS_AT_CLIENTS)
    def mean_of_mean(x):
        return mean(core.federated_broadcast(mean(x)))  # the same value for every client fits {float32}@CLIENTS

    assert mean_of_mean([1.0, 2.0, 6.0]) == pytest.approx(3.0)
    with pytest.raises(TypeError, match=re.escape("mean: argument 0 must be {float32}@CLIENTS, found float32@SERVER")):
        core.federated_computation(core.FederatedType(np.float32, core.SERVER))(lambda x: mean(x))


def check(error, fn, *args):
    with pytest.raises(TypeError) as e:
        fn(*args)
    assert str(e.value) == error and "\n" not in str(e.value)


def test_arguments_that_do_not_fit_are_refused_naming_the_argument_and_client():
    sequence = core.SequenceType((tf.TensorSpec([None, 2]), tf.TensorSpec([None], tf.int32)))

    @core.tf_computation(sequence)
    def count(ds):
        return ds.reduce(0, lambda n, batch: n + tf.shape(batch[1])[0])

    @core.federated_computation(core.FederatedType(sequence, core.CLIENTS))
    def counts(datasets):
        return core.federated_map(count, datasets)

    good = tf.data.Dataset.from_tensor_slices((np.zeros((5, 2), np.float32), np.zeros(5, np.int32))).batch(2)
    assert counts([good, good.take(1)]) == [5, 2]
    check("counts: argument 0 is placed at CLIENTS: a list of one value per client, found _BatchDataset",
          counts, good)
    check("counts: argument 0 (client 1) must be a tf.data.Dataset, found ndarray", counts, [good, np.zeros(2)])
    wide = tf.data.Dataset.from_tensor_slices((np.zeros((5, 3), np.float32), np.zeros(5, np.int32))).batch(2)
    check("counts: argument 0 (client 0)'s elements are <float32[?,3],int32[?]>, expected <float32[?,2],int32[?]>",
          counts, [wide])

    @core.federated_computation(FLOATS_AT_CLIENTS)
    def mean(x):
        return core.federated_mean(x)

    check("mean: argument 0 (client 1) must be float32, found 'hot'", mean, [1.0, "hot"])
    check("mean takes 1 argument(s), given 2", mean, [1.0], [2.0])


def test_programs_that_do_not_type_are_refused_when_defined():
    @core.tf_computation(np.float32)
    def add_half(x):
        return x + 0.5

    ints = core.FederatedType(np.int32, core.CLIENTS)
    check("federated_map: add_half takes (float32 -> …), given int32",
          core.federated_computation(ints), lambda x: core.federated_map(add_half, x))
    check("federated_mean: the clients' values must be floating-point tensors, found {int32}@CLIENTS",
          core.federated_computation(ints), core.federated_mean)
    check("federated_broadcast: expected a federated value placed at SERVER, found {float32}@CLIENTS",
          core.federated_computation(FLOATS_AT_CLIENTS), core.federated_broadcast)
    check("federated_map: fn must be a fedexp.core.tf_computation, found function",
          core.federated_computation(FLOATS_AT_CLIENTS), lambda x: core.federated_map(lambda v: v, x))
    check("<lambda>: a federated computation's parameters are placed (FederatedType(member, SERVER or CLIENTS)), "
          "found float32", core.federated_computation(np.float32), lambda f: f)
    check("not a type: 'hot' (a dtype such as np.float32, a tf.TensorSpec, fedexp.core.SequenceType or "
          "FederatedType)", core.FederatedType, "hot", core.CLIENTS)


def test_clients_values_of_different_lengths_are_refused():
    @core.tf_computation(np.float32, np.float32)
    def add(a, b):
        return a + b

    @core.federated_computation(FLOATS_AT_CLIENTS, FLOATS_AT_CLIENTS)
    def pairwise(a, b):
        return core.federated_map(add, (a, b))

    assert pairwise([1.0, 2.0], [10.0, 20.0]) == [11.0, 22.0]
    with pytest.raises(ValueError, match=re.escape("federated values of different numbers of clients: [1, 2]")):
        pairwise([1.0, 2.0], [10.0])


def test_an_iterative_process_takes_back_the_state_it_starts_with():
    @core.tf_computation
    def zero():
        return tf.constant(0.0)

    @core.federated_computation
    def initialize():
        return core.federated_eval(zero, core.SERVER)

    @core.tf_computation(np.float32, np.float32)
    def add(a, b):
        return a + b

    @core.federated_computation(core.FederatedType(np.float32, core.SERVER), FLOATS_AT_CLIENTS)
    def next_fn(state, values):
        total = core.federated_sum(values)
        return core.federated_map(add, (state, total)), total

    process = core.IterativeProcess(initialize, next_fn)
    state = process.initialize()
    for values in ([1.0, 2.0], [3.0]):
        state, total = process.next(state, values)
    assert (state, total) == (6.0, 3.0)
    check("IterativeProcess: next_fn must take the state float32@SERVER first and return it; "
          "found ({float32}@CLIENTS -> float32@SERVER)", core.IterativeProcess, initialize,
          core.federated_computation(FLOATS_AT_CLIENTS)(core.federated_sum))
    check("IterativeProcess: initialize_fn must be a fedexp.core.federated_computation, found function",
          core.IterativeProcess, lambda: 0.0, next_fn)


def test_a_value_the_same_for_every_client_counts_once_per_client():
    @core.federated_computation(core.FederatedType(np.float32, core.SERVER), core.FederatedType(np.int32, core.CLIENTS))
    def total(x, counts):
        return core.federated_sum(core.federated_broadcast(x)), core.federated_sum(counts)

    assert total(2.5, [1, 2, 3]) == (7.5, 6)  # three clients, integers summed too

    @core.federated_computation(core.FederatedType(np.float32, core.SERVER))
    def unknown(x):
        return core.federated_sum(core.federated_broadcast(x))

    with pytest.raises(ValueError, match=re.escape("the number of clients is not known for float32@CLIENTS: give the "
                                                   "federated computation a value placed at CLIENTS")):
        unknown(1.0)
