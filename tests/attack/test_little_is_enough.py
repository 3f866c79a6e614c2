from statistics import NormalDist

import numpy as np
import pytest

from fedexp.attack.little_is_enough import build_little_is_enough
from fedexp.client_work._behavior import malicious_clients
from tests.client_work.behaving import behaving, clients, honest, round_of


@pytest.mark.parametrize("z", [1.5, None])
def test_the_attackers_send_mean_minus_z_std_of_the_honest_updates(linear_fn, z):
    data = clients(sizes=(9, 12, 7, 10, 8))
    bad = malicious_clients(5, 0.4, 3)
    truth, _, _ = round_of(honest(linear_fn), linear_fn, data)
    sent, _, _ = round_of(behaving(linear_fn, num_clients=5, attack=build_little_is_enough(fraction=0.4, z=z), seed=3),
                          linear_fn, data)
    # Baruch et al.: n = 5, m = 2 -> s = floor(5 / 2 + 1) - 2 = 1, z = Phi^-1((5 - 1) / 5).
    factor = z if z is not None else NormalDist().inv_cdf(0.8)
    for u, t in zip(sent, truth):
        crafted = t[~bad].mean(axis=0) - factor * t[~bad].std(axis=0)
        for c in np.flatnonzero(bad):
            np.testing.assert_allclose(u[c], crafted, rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(u[~bad], t[~bad])
