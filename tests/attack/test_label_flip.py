import numpy as np

from fedexp.attack.label_flip import build_label_flip
from fedexp.client_work._behavior import malicious_clients
from tests.client_work.behaving import behaving, clients, honest, round_of


def test_a_poisoner_sends_the_update_of_training_on_flipped_labels(linear_fn):
    data = clients()
    bad = malicious_clients(8, 0.5, 2)[:len(data)]
    flipped = [[(x, 2 - y) if bad[c] else (x, y) for x, y in batches] for c, batches in enumerate(data)]  # 3 classes
    truth, _, _ = round_of(honest(linear_fn), linear_fn, flipped)
    sent, _, out = round_of(behaving(linear_fn, attack=build_label_flip(fraction=0.5), seed=2), linear_fn, data)
    for u, t in zip(sent, truth):
        np.testing.assert_allclose(u, t, rtol=1e-6, atol=1e-7)
    honest_updates, _, _ = round_of(honest(linear_fn), linear_fn, data)
    assert not np.allclose(sent[0][bad], honest_updates[0][bad])
    assert int(out.measurements["clients"]["malicious_in_cohort"]) == bad.sum()
