import numpy as np
import pytest

from fedexp.dropout.random import build_random_dropout
from fedexp.errors import ConfigError, InvalidValueError
from fedexp.runner.build import build_experiment
from fedexp.runner.train import train
from tests.client_work.behaving import behaving, clients, honest, round_of
from tests.conftest import TINY, compose


def test_only_the_clients_that_report_reach_the_aggregator_drawn_from_the_seed_and_round(linear_fn):
    data = clients()
    truth, weight, _ = round_of(honest(linear_fn), linear_fn, data)
    work = behaving(linear_fn, dropout=build_random_dropout(rate=0.5), seed=1)
    sent, sent_weight, out = round_of(work, linear_fn, data)
    reported = int(out.measurements["clients"]["reported"])
    assert 0 < reported < len(data) and len(sent_weight) == reported
    kept = [c for c in range(len(data)) if any(np.array_equal(sent[0][i], truth[0][c]) for i in range(reported))]
    assert len(kept) == reported and sorted(sent_weight) == sorted(weight[kept])  # honest updates of those who report
    again, _, _ = round_of(work, linear_fn, data)
    np.testing.assert_array_equal(again[0], sent[0])
    _, _, later = round_of(work, linear_fn, data, state=out.state)
    other, _, _ = round_of(behaving(linear_fn, dropout=build_random_dropout(rate=0.5), seed=2), linear_fn, data)
    assert (int(later.measurements["clients"]["reported"]), len(other[0])) != (reported, reported) or \
        not np.array_equal(other[0], sent[0])


def test_over_selection_keeps_the_first_clients_per_round_that_report(linear_fn):
    data = clients()
    truth, _, _ = round_of(honest(linear_fn), linear_fn, data)
    dropout = build_random_dropout(rate=0.0, over_selection=0.5)
    assert dropout.sampled(4) == 6 and build_random_dropout(over_selection=0.2).sampled(10) == 12
    sent, _, out = round_of(behaving(linear_fn, dropout=dropout, clients_per_round=4), linear_fn, data)
    np.testing.assert_array_equal(sent[0], truth[0][:4])
    assert int(out.measurements["train"]["num_examples"]) == sum(len(y) for b in data[:4] for _, y in b)


def test_when_no_client_reports_the_round_changes_nothing():
    final = train(compose(*TINY, "+dropout=random", "dropout.rate=1.0", "tracking=none"))
    assert final["client_work/clients/reported"] == 0 and final["client_work/clients/sampled"] == 2
    initial = train(compose(*TINY, "num_rounds=1", "+dropout=random", "dropout.rate=1.0", "tracking=none"))
    assert final["model/global_norm"] == initial["model/global_norm"]
    assert final["eval/accuracy"] == initial["eval/accuracy"]


def test_krum_with_dropout_is_refused():
    with pytest.raises(ConfigError, match="dropout: krum needs 2f \\+ 3 reporting clients"):
        build_experiment(compose(*TINY, "aggregator=krum", "clients_per_round=5", "+dropout=random"))


@pytest.mark.parametrize("kwargs", [{"rate": 1.2}, {"over_selection": -0.5}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(InvalidValueError):
        build_random_dropout(**kwargs)
