"""Round monitors: what watches a run between rounds (the privacy ledger, a user's early stopping).

A block declares its monitors when it is built (the `monitors` of its process); the composer
collects every block's into the learning process's `monitors`, and the round loop calls each
after every round. The loop knows monitors, not what they watch.

    after_round(round_num, metrics) -> MonitorReport(metrics, stop)
    get_state() -> a JSON value         set_state(state)

`metrics` are the round's, flattened with `/` (`aggregator/dp_gaussian/noise_multiplier`);
the report adds metrics of its own and, to end the run after this round, a reason. A
checkpoint saves what `get_state` returns (lists, numbers, strings) and a resumed run hands
it back to `set_state`, so that the monitor goes on as if the run had never stopped.
"""

from typing import NamedTuple, Optional, Protocol


class MonitorReport(NamedTuple):
    metrics: dict  # extra metrics of this round, e.g. {"privacy/epsilon": 1.2}
    stop: Optional[str] = None  # why the run ends after this round; None: it goes on


class RoundMonitor(Protocol):
    def after_round(self, round_num: int, metrics: dict) -> MonitorReport:
        ...

    def get_state(self):
        ...

    def set_state(self, state) -> None:
        ...
