import numpy as np
import pytest

from fedexp.attack.gaussian_noise import build_gaussian_noise
from fedexp.client_work._behavior import malicious_clients
from fedexp.errors import InvalidValueError
from tests.client_work.behaving import behaving, clients, honest, round_of


def test_a_noisy_client_sends_noise_of_the_given_norm_drawn_anew_each_round(linear_fn):
    data = clients()
    truth, _, _ = round_of(honest(linear_fn), linear_fn, data)
    work = behaving(linear_fn, attack=build_gaussian_noise(fraction=0.5, norm=7.0), seed=4)
    first, _, out = round_of(work, linear_fn, data)
    second, _, _ = round_of(work, linear_fn, data, state=out.state)
    again, _, _ = round_of(work, linear_fn, data)
    bad = malicious_clients(8, 0.5, 4)[:len(data)]
    norms = np.sqrt(sum(np.sum(u.reshape(len(data), -1) ** 2, axis=1) for u in first))
    np.testing.assert_allclose(norms[bad], 7.0, rtol=1e-5)
    for u, t, v, w in zip(first, truth, second, again):
        np.testing.assert_array_equal(u[~bad], t[~bad])
        np.testing.assert_array_equal(u, w)  # from the seed and the round
        assert not np.allclose(u[bad], v[bad])


def test_a_norm_must_be_positive():
    with pytest.raises(InvalidValueError, match="norm must be a number > 0"):
        build_gaussian_noise(norm=0.0)
