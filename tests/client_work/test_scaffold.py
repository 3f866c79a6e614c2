"""SCAFFOLD on the paper's kind of problem: two clients with quadratic losses of different
curvature, f_i(w) = (x_i w - y_i)^2, checked step by step against the paper's Algorithm 1."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import fedexp
from fedexp.templates.client_data import cohort_type, pack_batches
from tests.conftest import broadcast, pack, random_clients

# Client 0: x=1, y=0 (optimum 0, curvature 2); client 1: x=3, y=3 (optimum 1, curvature 18).
CLIENTS = ((1.0, 0, 5), (3.0, 3, 2))  # (x, y, local steps K); one example per batch
LR, SERVER_LR, ROUNDS = 0.02, 1.0, 4


def quadratic_fn():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(loss="mse")
    return model


def cohort(ids):
    batches = [[(np.array([[CLIENTS[i][0]]], np.float32), np.array([CLIENTS[i][1]], np.int32))] * CLIENTS[i][2]
               for i in ids]
    return pack_batches(batches, cohort_type((1,)), ids)


def scaffold_process(control_update="delta", batched=False, client_weighting="uniform"):
    work = fedexp.build_scaffold_client_work(quadratic_fn, fedexp.build_sgdm(learning_rate=LR), num_clients=2,
                                             control_update=control_update, client_weighting=client_weighting,
                                             batched=batched)
    return compose(work)


def compose(work):
    weights = fedexp.ModelWeights.from_model(quadratic_fn())
    wtype = fedexp.weights_type(quadratic_fn())
    return fedexp.compose_learning_process(
        lambda: weights, fedexp.build_broadcast_process(wtype), work, fedexp.build_weighted_mean(wtype.trainable),
        fedexp.build_apply_optimizer_finalizer(fedexp.build_sgdm(learning_rate=SERVER_LR), wtype))


def paper(rounds, cohorts, option="II"):
    """Algorithm 1 of Karimireddy et al. (2020), with every sampled client, |S| of N = 2."""
    grad = [lambda w, a=a, b=b: 2 * a * (a * w - b) for a, b, _ in CLIENTS]
    x, c, ci, trace = 0.0, 0.0, [0.0, 0.0], []
    for r in range(rounds):
        dy, dc = [], []
        for i in cohorts[r]:
            y = x
            for _ in range(CLIENTS[i][2]):
                y -= LR * (grad[i](y) - ci[i] + c)
            new = ci[i] - c + (x - y) / (CLIENTS[i][2] * LR) if option == "II" else grad[i](x)
            dy.append(y - x)
            dc.append(new - ci[i])
            ci[i] = new
        x += SERVER_LR * np.mean(dy)
        c += np.sum(dc) / 2
        trace.append((x, c, list(ci)))
    return trace


def run(process, cohorts):
    state, trace = process.initialize(), []
    for ids in cohorts:
        state = process.next(state, cohort(ids)).state
        work = state.client_work
        trace.append((float(state.global_model_weights.trainable[0][0, 0]), float(work["control"][0][0, 0]),
                      [float(v) for v in work["client_controls"][0][:, 0, 0]]))
    return trace


@pytest.mark.parametrize("option, control_update", [("II", "delta"), ("I", "gradient")])
@pytest.mark.parametrize("batched", [False, True])
def test_control_variates_follow_the_paper(option, control_update, batched):
    cohorts = [[0, 1], [1], [0, 1], [0]]  # a client left out of a round keeps its c_i
    got, expected = run(scaffold_process(control_update, batched), cohorts), paper(ROUNDS, cohorts, option)
    for (x, c, ci), (ex, ec, eci) in zip(got, expected):
        np.testing.assert_allclose([x, c, *ci], [ex, ec, *eci], rtol=2e-5, atol=1e-6)
    assert expected[-1][2][1] != 0  # the check is not vacuous: client 1's control moved


def test_scaffold_removes_the_drift_that_fedavg_has():
    """With unequal curvatures and several local steps FedAvg settles off the optimum of
    f_0 + f_1 (w* = 18/20 = 0.9); SCAFFOLD converges to it."""
    cohorts = [[0, 1]] * 60
    scaffold = run(scaffold_process(), cohorts)[-1][0]
    fedavg_process = compose(fedexp.build_model_delta_client_work(
        quadratic_fn, fedexp.build_sgdm(learning_rate=LR), client_weighting="uniform", batched=False))
    state = fedavg_process.initialize()
    for ids in cohorts:
        state = fedavg_process.next(state, cohort(ids)).state
    fedavg = float(state.global_model_weights.trainable[0][0, 0])
    assert abs(scaffold - 0.9) < 1e-4
    assert abs(fedavg - 0.9) > 0.05


def test_the_controls_are_part_of_the_state_and_measured():
    process = scaffold_process()
    out = process.next(process.initialize(), cohort([0, 1]))
    assert out.state.client_work["client_controls"][0].shape == (2, 1, 1)
    assert float(out.metrics["client_work"]["controls_updated"]) == 2
    assert float(out.metrics["client_work"]["control_norm"]) > 0


def test_an_empty_client_keeps_its_control(linear_fn):
    work = fedexp.build_scaffold_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1), num_clients=4,
                                             batched=False)
    clients = random_clients(np.random.default_rng(0), [8, 0], batch_size=4)
    data = pack_batches(clients, cohort_type((6,)), [3, 1])
    weights = fedexp.ModelWeights.from_model(linear_fn())
    state = work.next(work.initialize(), broadcast(weights, 2), data).state
    table = state["client_controls"][0].numpy()
    assert np.abs(table[3]).sum() > 0 and np.abs(table[[0, 1, 2]]).sum() == 0


def test_a_client_id_beyond_num_clients_is_refused(linear_fn):
    work = fedexp.build_scaffold_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1), num_clients=2,
                                             batched=False)
    data = pack_batches(random_clients(np.random.default_rng(0), [4], batch_size=4), cohort_type((6,)), [5])
    weights = fedexp.ModelWeights.from_model(linear_fn())
    with pytest.raises(tf.errors.InvalidArgumentError, match="client ids must be < num_clients = 2"):
        work.next(work.initialize(), broadcast(weights, 1), data)


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_clients=0), "num_clients must be an integer >= 1, found 0"),
    (dict(num_clients=2, control_update="option3"), r"control_update must be one of \['delta', 'gradient'\]"),
    (dict(num_clients=2, optimizer=fedexp.build_sgdm(learning_rate=0.1, momentum=0.9)),
     "needs plain SGD clients.*use control_update=gradient"),
])
def test_bad_arguments(linear_fn, kwargs, message):
    kwargs = {"optimizer": fedexp.build_sgdm(learning_rate=0.1), **kwargs}
    with pytest.raises(ValueError, match=message):
        fedexp.build_scaffold_client_work(linear_fn, **kwargs)


def test_momentum_clients_work_with_the_gradient_option(linear_fn):
    work = fedexp.build_scaffold_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1, momentum=0.9),
                                             num_clients=3, control_update="gradient")
    weights = fedexp.ModelWeights.from_model(linear_fn())
    out = work.next(work.initialize(), broadcast(weights, 3), pack(random_clients(np.random.default_rng(1), [5, 9, 4], 4)))
    assert float(out.measurements["controls_updated"]) == 3
