"""Synthetic(alpha, beta) of the FedProx paper (Li et al. 2020, section 5.1), generated from the seed.

Client k has its own softmax model and its own inputs:

    u_k ~ N(0, alpha);  W_k ~ N(u_k, 1) [60 x 10];  b_k ~ N(u_k, 1) [10]
    B_k ~ N(0, beta);   v_k ~ N(B_k, 1) [60];       x ~ N(v_k, diag(j^-1.2))
    y = argmax(softmax(x W_k + b_k))

with alpha and beta the standard deviations, as the paper's generator draws them
(github.com/litian96/FedProx, data/synthetic_*/generate_*.py). alpha controls how much the
clients' models differ, beta how much their inputs do;
`iid` gives every client the same W, b and v = 0 (the paper's Synthetic-IID). Client
sizes follow the paper's power law (lognormal(4, 2) + 50 examples); each client keeps
`test_fraction` of its examples (the paper: 10%) as its own test data.
"""

import numpy as np

from fedexp import checks
from fedexp.data._federated import FederatedData, FederatedSplit

DIMENSION, CLASSES = 60, 10


def generate(*, alpha, beta, num_clients, iid=False, seed=0):
    """[(x [n_k, 60] float32, y [n_k] int32) for each client]."""
    rng = np.random.default_rng([seed, 5])
    sizes = rng.lognormal(4, 2, num_clients).astype(np.int64) + 50
    u = rng.normal(0, alpha, num_clients)
    b_shift = rng.normal(0, beta, num_clients)
    std = np.power(np.arange(1, DIMENSION + 1), -1.2 / 2)  # the square root of diag(j^-1.2)
    shared = rng.normal(0, 1, (DIMENSION, CLASSES)), rng.normal(0, 1, CLASSES)
    clients = []
    for k in range(num_clients):
        w, b = shared if iid else (rng.normal(u[k], 1, (DIMENSION, CLASSES)), rng.normal(u[k], 1, CLASSES))
        v = np.zeros(DIMENSION) if iid else rng.normal(b_shift[k], 1, DIMENSION)
        x = v + std * rng.normal(size=(sizes[k], DIMENSION))
        clients.append((x.astype(np.float32), np.argmax(x @ w + b, axis=1).astype(np.int32)))
    return clients


def build_synthetic(*, alpha=1.0, beta=1.0, iid=False, num_clients=30, test_fraction=0.1, batch_size=10,
                    epochs=1, seed=0):
    """Synthetic(alpha, beta) (Synthetic-IID with `iid`) over `num_clients` clients, each keeping
    `test_fraction` of its examples for testing. Returns a `FederatedSplit`; raises ValueError for
    a negative alpha or beta, num_clients < 1 or a test fraction outside (0, 1)."""
    checks.number("alpha", alpha, at_least=0)
    checks.number("beta", beta, at_least=0)
    checks.integer("num_clients", num_clients, at_least=1)
    checks.fraction("test_fraction", test_fraction)
    clients = generate(alpha=alpha, beta=beta, num_clients=num_clients, iid=iid, seed=seed)
    cut = [max(1, int(round(len(y) * (1 - test_fraction)))) for _, y in clients]  # >= 50 examples: both non-empty
    train, test = ([(x[:c], y[:c]) for (x, y), c in zip(clients, cut)],
                   [(x[c:], y[c:]) for (x, y), c in zip(clients, cut)])
    return FederatedSplit(*(FederatedData(np.concatenate([x for x, _ in part]), np.concatenate([y for _, y in part]),
                                          [len(y) for _, y in part]) for part in (train, test)),
                          batch_size=batch_size, epochs=epochs, num_classes=CLASSES)
