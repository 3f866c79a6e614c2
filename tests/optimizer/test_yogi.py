"""Yogi against the formula by hand (Keras has none)."""

import numpy as np

import fedexp
from tests.optimizer.conftest import run


def test_yogi_by_hand(problem):
    weights, grads = problem
    lr, b1, b2, eps = 0.05, 0.9, 0.99, 1e-3
    w = [x.astype(np.float64) for x in weights]
    m = [np.zeros_like(x) for x in w]
    v = [np.full_like(x, 1e-6) for x in w]
    for t, g in enumerate(grads, start=1):
        for i in range(2):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = v[i] - (1 - b2) * np.sign(v[i] - g[i] ** 2) * g[i] ** 2
            w[i] = w[i] - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m[i] / (np.sqrt(v[i]) + eps)
    ours = run(fedexp.build_yogi(learning_rate=lr, beta_1=b1, beta_2=b2, epsilon=eps), grads, weights)
    for a, b in zip(ours, w):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
