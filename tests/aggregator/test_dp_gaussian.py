import dp_accounting
import numpy as np
import pytest
import tensorflow as tf

from fedexp.aggregator._privacy import RDP_ORDERS, PrivacyLedger
from fedexp.aggregator.dp_gaussian import build_dp_gaussian
from fedexp.aggregator.mean import build_weighted_mean
from fedexp.aggregator.sum import build_sum
from fedexp.errors import ConfigError
from fedexp.runner.train import train
from tests.conftest import TINY, all_runs, compose, store

DIM = 20000


def test_the_noise_has_the_configured_standard_deviation():
    vt = (tf.TensorSpec([DIM]),)
    agg = build_dp_gaussian(vt, build_sum(vt), noise_multiplier=1.5, clip_norm=2.0, clients_per_round=10)
    out = agg.next(agg.initialize(), (np.zeros([7, DIM], np.float32),))  # zero updates: the result is noise
    noise = out.result[0].numpy() * 10  # averaged over the expected cohort
    assert noise.std() == pytest.approx(1.5 * 2.0, rel=0.03) and abs(noise.mean()) < 0.05
    assert float(out.measurements["dp_gaussian"]["noise_stddev"]) == pytest.approx(3.0)
    other = agg.next(out.state, (np.zeros([7, DIM], np.float32),)).result[0].numpy()
    assert not np.allclose(other, out.result[0])  # fresh noise every round


def test_updates_are_clipped_summed_and_divided_by_the_expected_cohort():
    values = np.array([[3.0, 4.0], [0.3, 0.4]], np.float32)
    agg = build_dp_gaussian((tf.TensorSpec([2]),), build_sum((tf.TensorSpec([2]),)), noise_multiplier=0.0, clip_norm=1.0, clients_per_round=4)
    out = agg.next(agg.initialize(), (values,))
    np.testing.assert_allclose(out.result[0], [(0.6 + 0.3) / 4, (0.8 + 0.4) / 4], rtol=1e-6)
    assert float(out.measurements["dp_gaussian"]["clipped_count"]) == 1.0


def test_adaptive_clipping_splits_the_noise_between_the_count_and_the_update():
    agg = build_dp_gaussian((tf.TensorSpec([DIM]),), build_sum((tf.TensorSpec([DIM]),)), noise_multiplier=1.0, clip_norm=1.0, clients_per_round=100,
                            target_quantile=0.5)
    out = agg.next(agg.initialize(), (np.zeros([100, DIM], np.float32),))
    count_stddev = 100 / 20  # Andrew et al.'s default, m / 20
    expected = (1.0 ** -2 - (2 * count_stddev) ** -2) ** -0.5
    assert float(out.measurements["dp_gaussian"]["noise_stddev"]) == pytest.approx(expected, rel=1e-6)
    assert (out.result[0].numpy() * 100).std() == pytest.approx(expected, rel=0.03)
    assert float(out.state["own"]["clip_norm"]) < 1.0  # every norm (0) fell below: the estimate shrinks


@pytest.mark.parametrize("accountant", ["rdp", "pld"])
def test_epsilon_matches_dp_accounting_called_directly(accountant):
    ledger = PrivacyLedger(sampling_rate=0.02, delta=1e-5, noise_multiplier=1.1, accountant=accountant)
    spent = [ledger.record(z) for z in [1.1] * 6 + [0.9] * 4]
    direct = (dp_accounting.rdp.RdpAccountant(RDP_ORDERS) if accountant == "rdp"
              else dp_accounting.pld.PLDAccountant())
    direct.compose(dp_accounting.PoissonSampledDpEvent(0.02, dp_accounting.GaussianDpEvent(1.1)), 6)
    direct.compose(dp_accounting.PoissonSampledDpEvent(0.02, dp_accounting.GaussianDpEvent(0.9)), 4)
    assert spent[-1] == pytest.approx(direct.get_epsilon(1e-5), rel=1e-6)
    assert all(a < b for a, b in zip(spent, spent[1:]))


def test_a_run_stops_cleanly_at_the_epsilon_budget(tmp_path):
    uri, client = store(tmp_path)
    cfg = compose(*TINY, "num_rounds=40", "aggregator=dp_gaussian", "aggregator.noise_multiplier=3.0",
                  "aggregator.epsilon_budget=1.5", "aggregator.delta=1e-5", f"tracking.uri={uri}")
    final = train(cfg)
    ledger = PrivacyLedger(sampling_rate=2 / 5, delta=1e-5, noise_multiplier=3.0)
    rounds = next(n for n in range(1, 41) if ledger.epsilon([3.0] * (n + 1)) > 1.5)  # the last affordable round
    assert final["round"] == rounds < 40 and "eval/accuracy" in final
    (run,) = all_runs(client)
    assert run.info.status == "FINISHED" and run.data.tags["stopped"].startswith("epsilon budget 1.5 reached")
    history = client.get_metric_history(run.info.run_id, "privacy/epsilon")
    assert len(history) == rounds and max(m.value for m in history) <= 1.5


def test_a_budget_one_round_exceeds_is_refused_before_training():
    with pytest.raises(ConfigError, match="aggregator.epsilon_budget: one round already spends epsilon"):
        train(compose(*TINY, "aggregator=dp_gaussian", "aggregator.noise_multiplier=0.3",
                      "aggregator.epsilon_budget=0.1", "tracking=none"))


def test_bad_settings_are_named():
    vt = (tf.TensorSpec([2]),)
    with pytest.raises(ValueError, match="inner must be an unweighted sum"):
        build_dp_gaussian(vt, build_weighted_mean(vt), clients_per_round=4)
    with pytest.raises(ValueError, match="clipped_count_stddev must exceed noise_multiplier / 2"):
        build_dp_gaussian(vt, build_sum(vt), noise_multiplier=2.0, clients_per_round=10, target_quantile=0.5)
    with pytest.raises(ValueError, match=r"accountant must be one of \['rdp', 'pld'\]"):
        build_dp_gaussian(vt, build_sum(vt), clients_per_round=4, accountant="moments")
