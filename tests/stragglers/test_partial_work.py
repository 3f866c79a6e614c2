import numpy as np
import tensorflow as tf

from fedexp.client_work._behavior import round_draws
from fedexp.stragglers.partial_work import build_partial_work
from tests.client_work.behaving import behaving, clients, honest, round_of


def test_a_straggler_sends_the_update_of_its_first_steps_drawn_from_the_seed(linear_fn):
    data = clients()
    sent, _, out = round_of(behaving(linear_fn, stragglers=build_partial_work(fraction=1.0), seed=5), linear_fn, data)
    stopped = []
    for c, batches in enumerate(data):
        prefixes = [round_of(honest(linear_fn), linear_fn, [batches[:k]])[0][0][0] for k in range(1, len(batches) + 1)]
        matches = [k for k, u in enumerate(prefixes, start=1) if np.allclose(sent[0][c], u, rtol=1e-6, atol=1e-7)]
        assert len(matches) == 1, f"client {c}: its update is no prefix of its batches"
        stopped.append(matches[0])
    assert int(out.measurements["train"]["num_batches"]) == sum(stopped)
    (_, _, u_steps), _ = round_draws(5, tf.constant(0, tf.int64), 8)  # stops after 1 + floor(u x its steps)
    assert stopped == [1 + int(u * len(b)) for u, b in zip(u_steps.numpy(), data)]
    assert any(k < len(b) for k, b in zip(stopped, data))  # some stopped early
    again, _, _ = round_of(behaving(linear_fn, stragglers=build_partial_work(fraction=1.0), seed=5), linear_fn, data)
    np.testing.assert_array_equal(again[0], sent[0])


def test_no_stragglers_is_honest_work_and_dropped_stragglers_do_not_report(linear_fn):
    data = clients()
    truth, _, _ = round_of(honest(linear_fn), linear_fn, data)
    same, _, _ = round_of(behaving(linear_fn, stragglers=build_partial_work(fraction=0.0)), linear_fn, data)
    np.testing.assert_array_equal(same[0], truth[0])
    sent, _, out = round_of(behaving(linear_fn, stragglers=build_partial_work(fraction=0.5, drop=True), seed=5),
                            linear_fn, data)
    stragglers = int(out.measurements["clients"]["stragglers"])
    assert 0 < stragglers < len(data) and int(out.measurements["clients"]["reported"]) == len(data) - stragglers
    assert all(any(np.array_equal(u, t) for t in truth[0]) for u in sent[0])  # the others' honest updates
