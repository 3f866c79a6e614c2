"""An aggregator stage that declares a round monitor of its own, as a user's block would."""

from fedexp.aggregator._shared import build_stage
from fedexp.aggregator.mean import build_weighted_mean
from fedexp.templates import MonitorReport


class StopAfter:
    """Counts the rounds it has seen (from the aggregator's measurements) and stops after `rounds`."""

    def __init__(self, rounds):
        self.rounds, self.seen = rounds, 0

    def after_round(self, round_num, metrics):
        self.seen += metrics["aggregator/mean/mean_weight"] > 0
        stop = f"seen {self.seen} rounds" if self.seen >= self.rounds else None
        return MonitorReport({"watch/seen": float(self.seen)}, stop)

    def get_state(self):
        return {"seen": int(self.seen)}

    def set_state(self, state):
        self.seen = state["seen"]


def build_watched_mean(value_type, *, rounds=2):
    return build_stage(value_type, build_weighted_mean(value_type), name="watched", initial_state=dict,
                       prepare=lambda own, value: (value, ()), finish=lambda own, sums, result: (own, result, {}),
                       monitors=[StopAfter(rounds)])
