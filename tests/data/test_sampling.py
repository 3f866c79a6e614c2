import numpy as np
import pytest

from fedexp.data._federated import FederatedData, FederatedSplit
from fedexp.data._sampling import cohorts, sample_clients


@pytest.fixture
def split():
    x = np.arange(60, dtype=np.float32).reshape(30, 2)
    train = FederatedData(x, np.arange(30, dtype=np.int32), [3] * 10)
    return FederatedSplit(train, FederatedData(x[:2], np.zeros(2, np.int32), [2]), batch_size=2, epochs=2)


def test_a_round_never_repeats_a_client_and_the_seed_fixes_the_draw():
    draws = [sample_clients(100, 30, seed=7, round_num=r) for r in range(20)]
    assert all(len(set(d)) == 30 and 0 <= d.min() and d.max() < 100 for d in draws)
    np.testing.assert_array_equal(draws[3], sample_clients(100, 30, seed=7, round_num=3))
    assert not np.array_equal(draws[3], sample_clients(100, 30, seed=8, round_num=3))
    assert len({tuple(d) for d in draws}) == 20  # a new cohort every round


def test_prefetched_cohorts_are_the_ones_the_round_asks_for(split):
    got = list(cohorts(split, 4, [5, 1, 9], seed=3))
    assert [r for r, _, _ in got] == [5, 1, 9]
    for round_num, clients, cohort in got:
        np.testing.assert_array_equal(clients, sample_clients(10, 4, seed=3, round_num=round_num))
        expected = split.train.cohort(clients, batch_size=2, epochs=2, seed=[3, 2, round_num])
        for a, b in zip(cohort, expected):
            np.testing.assert_array_equal(a, b)


def test_an_error_packing_a_cohort_surfaces_in_the_round_that_needs_it(split, monkeypatch):
    pack = FederatedData.pack

    def fail_in_round_2(self, clients, *, seed, **kwargs):
        if seed[2] == 2:
            raise RuntimeError("disk gone")
        return pack(self, clients, seed=seed, **kwargs)
    monkeypatch.setattr(FederatedData, "pack", fail_in_round_2)
    stream = cohorts(split, 2, [1, 2, 3], seed=0)
    assert next(stream)[0] == 1
    with pytest.raises(RuntimeError, match="disk gone"):
        next(stream)


def test_sampling_by_size_favours_big_clients_and_never_repeats_one():
    sizes = np.array([1] * 9 + [91])  # the big client holds 91% of the examples
    draws = [sample_clients(10, 3, seed=0, round_num=r, sizes=sizes) for r in range(400)]
    assert all(len(set(d)) == 3 for d in draws)
    big = np.mean([9 in d for d in draws])
    assert big > 0.95  # uniform sampling would give it 3 / 10
    np.testing.assert_array_equal(draws[7], sample_clients(10, 3, seed=0, round_num=7, sizes=sizes))
    assert np.mean([9 in sample_clients(10, 3, seed=0, round_num=r) for r in range(400)]) < 0.4
