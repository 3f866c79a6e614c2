"""The round loop knows monitors, not what they watch: any block's monitor adds metrics and can stop a run."""

from fedexp.runner.loop import evaluation_due, flatten
from fedexp.runner.train import train
from tests.conftest import TINY, all_runs, compose, store


def test_a_blocks_monitor_adds_metrics_and_stops_the_run(tmp_path):
    uri, client = store(tmp_path)
    final = train(compose(*TINY, "num_rounds=5", "eval_every=0", f"tracking.uri={uri}",
                          "aggregator._target_=tests.runner.monitored_blocks.build_watched_mean", "+aggregator.rounds=3"))
    assert final["round"] == 3 and final["watch/seen"] == 3.0
    assert "eval/accuracy" in final  # the round a run stops at is evaluated
    (run,) = all_runs(client)
    assert run.info.status == "FINISHED" and run.data.tags["stopped"] == "seen 3 rounds"
    assert [m.value for m in client.get_metric_history(run.info.run_id, "watch/seen")] == [1.0, 2.0, 3.0]


def test_evaluation_is_due_every_n_rounds_at_the_last_and_when_stopping():
    assert [r for r in range(1, 11) if evaluation_due(r, 10, 4, None)] == [4, 8, 10]
    assert [r for r in range(1, 11) if evaluation_due(r, 10, 0, None)] == [10]
    assert evaluation_due(3, 10, 0, "budget reached") is True


def test_flatten_joins_nested_keys_and_drops_empty_tuples():
    assert flatten({"a": {"b": 1, "c": ()}, "d": (2, 3)}, "/") == {"a/b": 1, "d/0": 2, "d/1": 3}
