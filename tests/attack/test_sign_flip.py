import numpy as np
import pytest

from fedexp.attack.sign_flip import build_sign_flip
from fedexp.client_work._behavior import malicious_clients
from fedexp.errors import InvalidValueError
from tests.client_work.behaving import behaving, clients, honest, round_of


def test_a_sign_flipper_sends_minus_scale_times_its_honest_update(linear_fn):
    data = clients()
    truth, weight, _ = round_of(honest(linear_fn), linear_fn, data)
    sent, sent_weight, out = round_of(behaving(linear_fn, attack=build_sign_flip(fraction=0.5, scale=3.0), seed=4),
                                      linear_fn, data)
    bad = malicious_clients(8, 0.5, 4)[:len(data)]
    assert 0 < bad.sum() < len(data)
    for u, t in zip(sent, truth):
        np.testing.assert_allclose(u[bad], -3.0 * t[bad], rtol=1e-6)
        np.testing.assert_array_equal(u[~bad], t[~bad])
    np.testing.assert_array_equal(sent_weight, weight)
    assert int(out.measurements["clients"]["malicious_in_cohort"]) == bad.sum()


def test_the_malicious_clients_are_a_fixed_share_of_the_population_drawn_from_the_seed():
    a, b, other = malicious_clients(100, 0.1, 0), malicious_clients(100, 0.1, 0), malicious_clients(100, 0.1, 1)
    assert a.sum() == 10 and (a == b).all() and not (a == other).all()


@pytest.mark.parametrize("kwargs", [{"fraction": 1.5}, {"fraction": -0.1}, {"scale": 0}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(InvalidValueError):
        build_sign_flip(**kwargs)
