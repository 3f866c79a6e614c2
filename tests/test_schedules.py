import math

import pytest

from fedexp.errors import ConfigError
from fedexp.runner.train import train
from fedexp.schedules import build_schedule
from tests.conftest import TINY, all_runs, compose, store


@pytest.mark.parametrize("spec, expected", [
    ({"kind": "constant", "value": 0.3}, [0.3] * 6),
    ({"kind": "piecewise", "boundaries": [3, 5], "values": [1.0, 0.5, 0.1]}, [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]),
    ({"kind": "step", "boundaries": [2], "values": [2, 1]}, [2, 1, 1, 1, 1, 1]),
    ({"kind": "exponential", "initial": 1.0, "decay_rate": 0.5, "decay_rounds": 2},
     [1.0, 0.5 ** 0.5, 0.5, 0.5 ** 1.5, 0.25, 0.5 ** 2.5]),
    ({"kind": "exponential", "initial": 1.0, "decay_rate": 0.5, "decay_rounds": 2, "staircase": True},
     [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]),
    ({"kind": "cosine", "initial": 1.0, "rounds": 4, "final": 0.2},
     [1.0, 0.2 + 0.8 * (1 + math.cos(math.pi / 4)) / 2, 0.6, 0.2 + 0.8 * (1 + math.cos(3 * math.pi / 4)) / 2, 0.2,
      0.2]),
    ({"kind": "warmup", "rounds": 2, "then": {"kind": "piecewise", "boundaries": [2], "values": [1.0, 0.1]}},
     [0.5, 1.0, 1.0, 0.1, 0.1, 0.1]),
])
def test_each_kind_gives_its_values_by_round(spec, expected):
    schedule = build_schedule(spec)
    assert [schedule(r) for r in range(1, 7)] == pytest.approx(expected)


def test_a_schedule_changes_the_hparam_exactly_at_the_configured_rounds(tmp_path):
    uri, client = store(tmp_path)
    train(compose(*TINY, "num_rounds=5", "aggregator=clipping", f"tracking.uri={uri}",
                  "+schedules.client_work.learning_rate={kind:piecewise,boundaries:[3,5],values:[0.1,0.05,0.01]}",
                  "+schedules.aggregator.clipping.clip_norm={kind:exponential,initial:1.0,decay_rate:0.5,"
                  "decay_rounds:1}"))
    (run,) = all_runs(client)

    def logged(key):
        return [round(m.value, 6) for m in sorted(client.get_metric_history(run.info.run_id, key),
                                                  key=lambda m: m.step)]
    assert logged("hparams/client_work/learning_rate") == [0.1, 0.1, 0.05, 0.05, 0.01]
    assert logged("hparams/aggregator/clipping/clip_norm") == [1.0, 0.5, 0.25, 0.125, 0.0625]
    assert logged("aggregator/clipping/clip_norm") == [1.0, 0.5, 0.25, 0.125, 0.0625]  # the norm in force


@pytest.mark.parametrize("override, message", [
    ("+schedules.client_work.lr={kind:constant,value:1}",
     "schedules.client_work.lr: no such hyperparameter; there are: client_work.learning_rate"),
    ("+schedules.client_work.learning_rate={kind:linear,value:1}",
     r"schedules.client_work.learning_rate: kind must be one of \['constant', 'piecewise'"),
    ("+schedules.client_work.learning_rate={kind:piecewise,boundaries:[2],values:[1]}",
     "schedules.client_work.learning_rate: piecewise needs increasing boundaries and one value more"),
    ("+schedules.client_work.learning_rate={kind:cosine,initial:1}",
     "schedules.client_work.learning_rate: cosine: missing 1 required keyword-only argument: 'rounds'"),
])
def test_a_bad_schedule_is_named_before_training(override, message):
    with pytest.raises(ConfigError, match=message):
        train(compose(*TINY, override, "tracking=none"))
